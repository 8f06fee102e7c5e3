"""`diffsal reframe` against hostile settings and interruptions: windows too small to watch, an output folder
that cannot be written, a run killed while it writes, maps of a dataset run, and the same reframing twice."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_rejected, folder_state
from media import make_video

from diffsal.io.atomic import atomic_output, remove_abandoned_temporaries

MODEL = ["--steps", "1", "--quiet"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_window_below_the_minimum_is_refused_naming_aspect_and_window(cli, tmp_path, micro_model):
    video = make_video(tmp_path / "clip.mp4", 4, 6, (128, 72))
    out = tmp_path / "tall.mp4"
    outcome = cli("reframe", video, "--model", micro_model, "--aspect", "1:100", "--out", out, *MODEL)
    assert_rejected(outcome, "aspect 1:100", "2x72 window", "128x72", "16 pixels")
    assert not list(tmp_path.glob("tall*")) and not list(tmp_path.glob(".tall*"))
    zoomed = cli("reframe", video, "--model", micro_model, "--aspect", "16:9", "--zoom", "6", "--out", out, *MODEL)
    assert_rejected(zoomed, "aspect 16:9 at zoom 6", "smaller zoom")


def _read_only_folder(path: Path):
    """`path` as a folder this process cannot write: a read-only tmpfs for root (who may write anywhere else)."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        return path
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
                      capture_output=True).returncode != 0:
        pytest.skip("a read-only folder for root needs a read-only mount")
    return path


def test_an_output_folder_that_cannot_be_written_is_named_before_any_work(cli, tmp_path, micro_model):
    video = make_video(tmp_path / "clip.mp4", 4, 6, (96, 54))
    folder = _read_only_folder(tmp_path / "locked")
    try:
        outcome = cli("reframe", video, "--model", micro_model, "--out", folder / "clip.mp4", *MODEL)
        line = assert_rejected(outcome, str(folder))
        assert ".partial" not in line and "crop_path" not in line
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(folder)], check=False)
        else:
            folder.chmod(0o755)


def test_a_killed_writer_leaves_a_temporary_file_that_the_next_write_removes(tmp_path):
    target = tmp_path / "clip.mp4"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = tmp_path / f".clip.{dead.pid}-abcd1234.partial.mp4"
    running = tmp_path / f".clip.{os.getpid()}-efgh5678.partial.mp4"
    other = tmp_path / f".clip.b.{dead.pid}-abcd1234.partial.mp4"  # a temporary file of clip.b.mp4
    for path in (abandoned, running, other):
        path.write_bytes(b"half a video")
    with atomic_output(target) as temporary:
        temporary.write_bytes(b"a video")
    assert target.read_bytes() == b"a video"
    assert not abandoned.exists() and running.exists() and other.exists()
    assert remove_abandoned_temporaries(tmp_path / "clip.b.mp4") == [other]


def test_a_reframing_killed_while_writing_the_video_leaves_nothing_after_the_rerun(tmp_path, micro_model):
    video = make_video(tmp_path / "clip.mp4", 240, 30, (640, 360))
    maps_run = [sys.executable, "-m", "diffsal", "reframe", str(video), "--model", str(micro_model), "--out",
                str(tmp_path / "out" / "clip.mp4"), "--steps", "1", "--quiet", "--threads", "1"]
    subprocess.run(maps_run, check=True, capture_output=True)  # the maps (OUT.maps/) are kept for the rerun
    (tmp_path / "out" / "clip.mp4").unlink()
    (tmp_path / "out" / "clip.crop_path.json").unlink()
    process = subprocess.Popen(maps_run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "out").glob(".clip.*.partial.mp4")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if not list((tmp_path / "out").glob(".clip.*.partial.mp4")):
        pytest.skip("the video was written before the kill")
    subprocess.run(maps_run, check=True, capture_output=True)
    assert (tmp_path / "out" / "clip.mp4").is_file()
    assert not [path.name for path in (tmp_path / "out").iterdir() if ".partial" in path.name]


def test_the_same_reframing_gives_the_same_bytes(cli, tmp_path, micro_model):
    video = make_video(tmp_path / "clip.mp4", 60, 120, (250, 142), audio=None)  # 120 fps, sides not multiples of 16
    maps = tmp_path / "maps"
    assert cli("predict", video, "--model", micro_model, "--out", maps, "--steps", "1", "--quiet",
               "--no-overlay").exit_code == 0
    digests = set()
    for run in range(4):
        out = tmp_path / f"run{run}" / "clip.mp4"
        assert cli("reframe", video, "--maps", maps, "--out", out, "--preview", "--quiet").exit_code == 0
        digests.add((_digest(out), _digest(out.with_suffix(".preview.mp4"))))
    assert len(digests) == 1


def test_maps_of_a_dataset_run_are_found_from_its_out(cli, tmp_path, micro_model):
    from trees import make_stavis

    data = make_stavis(tmp_path / "data", {"clip": 6})
    predictions = tmp_path / "predictions"
    assert cli("predict", data, "--model", micro_model, "--out", predictions, "--steps", "1", "--quiet",
               "--no-overlay", "--no-audio").exit_code == 0
    video = make_video(tmp_path / "clip.mp4", 6, 5, (80, 48))
    before = folder_state(predictions)
    outcome = cli("reframe", video, "--maps", predictions, "--out", tmp_path / "clip_9x16.mp4", "--quiet")
    assert outcome.exit_code == 0, outcome.stderr
    assert folder_state(predictions) == before
    (predictions / "Other" / "clip").mkdir(parents=True)
    for path in (predictions / "DB" / "clip").iterdir():
        (predictions / "Other" / "clip" / path.name).write_bytes(path.read_bytes())
    ambiguous = cli("reframe", video, "--maps", predictions, "--out", tmp_path / "again.mp4", "--quiet")
    assert_rejected(ambiguous, "2 predictions of clip.mp4", "DB/clip", "Other/clip")
