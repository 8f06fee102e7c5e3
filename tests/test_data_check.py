import json
import shutil
from pathlib import Path

import pytest

from diffsal.cli import main
from diffsal.data.check import check_dataset
from diffsal.synth import SynthConfig, generate_benchmark


@pytest.fixture(scope="module")
def clean_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("check")
    generate_benchmark(root, SynthConfig(num_videos=3, seed=2, width=64, height=48, fps=10.0, seconds=1.0))
    return root


@pytest.fixture
def root(clean_root, tmp_path) -> Path:
    copy = tmp_path / "root"
    shutil.copytree(clean_root, copy)
    return copy


def test_clean_benchmark_passes(clean_root, capsys):
    assert main(["data", "check", str(clean_root), "--decode"]) == 0
    out = capsys.readouterr().out
    assert "Synthetic" in out and "no problems" in out
    report = check_dataset(clean_root)
    assert report.ok and [video.frames for video in report.databases[0].videos] == [10, 10, 10]


def _break(root: Path, problem: str) -> tuple[str, ...]:
    """Break the benchmark; returns what the report must say (paths first)."""
    db = "Synthetic"
    if problem == "missing frames folder":
        path = root / "video_frames" / db / "synth0001"
        shutil.rmtree(path)
        return str(path), "frames folder missing"
    if problem == "missing wav":
        path = root / "video_audio" / db / "synth0002" / "synth0002.wav"
        path.unlink()
        return str(path), "wav missing"
    if problem == "missing maps":
        path = root / "annotations" / db / "synth0000" / "maps"
        shutil.rmtree(path)
        return str(path), "eyeMaps folder missing"
    if problem == "missing fixMap":
        path = root / "annotations" / db / "synth0000" / "fixMap_00004.mat"
        path.unlink()
        return str(path), "fixMaps missing"
    if problem == "frame-count mismatch":
        (root / "video_frames" / db / "synth0001" / "img_00010.jpg").unlink()
        return str(root / "video_frames" / db / "synth0001"), "9 frames but the fold list says 10"
    if problem == "unknown video in fold list":
        path = root / "fold_lists" / f"{db}_list_test_2_fps.txt"
        path.write_text(path.read_text() + "ghost 10 10\n")
        return str(root / "video_frames" / db / "ghost"), "frames folder missing"
    if problem == "fps of 0":
        path = root / "fold_lists" / f"{db}_list_train_1_fps.txt"
        path.write_text(path.read_text().replace(" 10\n", " 0\n", 1))
        return f"{path}:1", "fps must be positive"
    if problem == "no fold lists":
        shutil.rmtree(root / "fold_lists")
        return str(root / "fold_lists"), "no fold list for Synthetic"
    raise AssertionError(problem)


@pytest.mark.parametrize("problem", ["missing frames folder", "missing wav", "missing maps", "missing fixMap",
                                     "frame-count mismatch", "unknown video in fold list", "fps of 0", "no fold lists"])
def test_each_problem_is_reported_with_its_path_and_a_nonzero_exit(root, problem, capsys):
    expected = _break(root, problem)
    assert main(["data", "check", str(root)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("problem:")]
    assert any(all(part in line for part in expected) for line in lines), err


def test_corrupt_files_are_found_when_decoding(root, capsys):
    jpeg = root / "video_frames" / "Synthetic" / "synth0000" / "img_00003.jpg"
    jpeg.write_bytes(jpeg.read_bytes()[:40])
    mat = root / "annotations" / "Synthetic" / "synth0001" / "fixMap_00002.mat"
    mat.write_bytes(b"garbage")
    assert main(["data", "check", str(root)]) == 0  # counting only: the files are there
    capsys.readouterr()
    assert main(["data", "check", str(root), "--decode"]) == 1
    err = capsys.readouterr().err
    assert f"{jpeg}: corrupt" in err and f"{mat}: corrupt" in err


def test_notes_json_and_relaxed_requirements(root, capsys):
    (root / "video_frames" / "Synthetic" / "stray").mkdir()
    shutil.rmtree(root / "annotations")
    shutil.rmtree(root / "video_audio")
    assert main(["data", "check", str(root), "--no-annotations", "--audio-optional", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and any("stray" in note for note in report["databases"][0]["notes"])
    assert main(["data", "check", str(root), "--db", "Synthetic"]) == 1
    capsys.readouterr()
    assert main(["data", "check", str(root / "absent")]) == 2


def test_data_list_stops_on_bad_data_unless_skip_bad(root, capsys):
    path, _ = _break(root, "missing wav")
    assert main(["data", "list", str(root), "--db", "Synthetic", "--part", "train", "--validation-fraction", "0"]) == 2
    assert path in capsys.readouterr().err
    assert main(["data", "list", str(root), "--db", "Synthetic", "--part", "train", "--validation-fraction", "0",
                 "--skip-bad"]) == 0
    captured = capsys.readouterr()
    assert f"skipped: {path}: wav missing" in captured.err
    assert "1 problem(s) skipped" in captured.out
