import json
import subprocess
import sys

import pytest

from diffsal import __version__
from diffsal.cli import main
from media import click_track, make_video


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"diffsal {__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "probe" in capsys.readouterr().out


def test_info_lists_versions_and_device(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for key in ("torch", "torchvision", "PyAV", "FFmpeg", "device", "threads"):
        assert key in out


def test_probe_json(tmp_path, capsys):
    path = make_video(tmp_path / "v.mp4", num_frames=30, fps=25, audio=click_track(1.2, 44_100, 0.5))
    assert main(["probe", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["num_frames"] == 30 and info["fps"] == 25 and (info["width"], info["height"]) == (160, 96)
    assert info["duration_s"] == pytest.approx(1.2)
    assert info["audio"]["sample_rate_hz"] == 44_100 and info["audio"]["channels"] == 2


def test_probe_table_says_no_audio(tmp_path, capsys):
    path = make_video(tmp_path / "v.mkv", num_frames=3)
    assert main(["probe", str(path)]) == 0
    assert "no audio" in capsys.readouterr().out


def test_bad_input_is_one_line_with_exit_code_2(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 10)
    result = subprocess.run([sys.executable, "-m", "diffsal", "probe", str(text)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "notes.mp4" in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "diffsal", "--debug", "probe", str(tmp_path / "absent.mp4")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "no such file" in result.stderr
