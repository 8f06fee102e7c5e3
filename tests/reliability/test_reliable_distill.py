"""`diffsal distill` on bad input and killed runs: one line and exit 2 before any work, nothing lost, exact resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_rejected, folder_state
from distill_recipe import FPS, SIZE, distill_overrides, write_videos
from media import make_video
from PIL import Image

FRAMES = 20


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    return write_videos(tmp_path_factory.mktemp("videos"), 3, FRAMES)


def recipe(out_dir: Path, teacher: Path, videos: Path, **extra) -> list[str]:
    """The shared micro recipe, one teacher clip per forward pass and a fourth step (time to kill the run)."""
    return distill_overrides(out_dir, teacher, videos, **{"teacher.batch_size": 1, "train.max_steps": 4, **extra})


def _per_frame_maps(folder: Path, names: list[str], count: int, size: tuple[int, int] = (64, 96)) -> Path:
    for name in names:
        (folder / name).mkdir(parents=True)
        for frame in range(count):
            Image.fromarray(np.full(size, 100 + frame, np.uint8)).save(folder / name / f"{frame + 1:05d}.png")
    return folder


# ---------------------------------------------------------------------- bad input: one line, exit 2, nothing written
def test_a_teacher_folder_that_is_neither_a_model_nor_maps(cli, tmp_path, videos):
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "notes.txt").write_text("not maps")
    outcome = cli("distill", *recipe(tmp_path / "run", teacher, videos))
    assert_rejected(outcome, "neither a model folder", "clip0.mp4")
    assert not (tmp_path / "run").exists()


def test_a_teacher_that_is_a_file(cli, tmp_path, videos):
    (tmp_path / "teacher.pth").write_bytes(b"x")
    assert_rejected(cli("distill", *recipe(tmp_path / "run", tmp_path / "teacher.pth", videos)), "teacher.pth",
                    "not a file")


def test_a_teacher_cache_that_is_a_file_or_holds_files_in_the_way(cli, tmp_path, videos, micro_model):
    (tmp_path / "cache_file").write_text("mine")
    outcome = cli("distill", *recipe(tmp_path / "run", micro_model, videos), "--teacher-cache", tmp_path / "cache_file")
    assert_rejected(outcome, "cache_file", "is a file")
    cache = tmp_path / "cache"
    assert cli("distill", *recipe(tmp_path / "first", micro_model, videos), "--teacher-cache", cache).exit_code == 0
    shutil.rmtree(cache / "videos")
    (cache / "videos").write_text("mine")
    outcome = cli("distill", *recipe(tmp_path / "run", micro_model, videos), "--teacher-cache", cache)
    assert_rejected(outcome, str(cache / "videos"), "is a file")
    assert (tmp_path / "cache_file").read_text() == "mine" and (cache / "videos").read_text() == "mine"
    assert not (tmp_path / "run").exists()


def test_maps_of_another_frame_count(cli, tmp_path, videos):
    maps = _per_frame_maps(tmp_path / "maps", ["clip0", "clip1", "clip2"], FRAMES)
    (maps / "clip1" / f"{FRAMES:05d}.png").unlink()
    assert_rejected(cli("distill", *recipe(tmp_path / "run", maps, videos)), "clip1", f"{FRAMES - 1} maps",
                    f"{FRAMES} frames")
    assert not (tmp_path / "run").exists()


def test_maps_of_another_shape(cli, tmp_path, videos):
    maps = _per_frame_maps(tmp_path / "maps", ["clip0", "clip1", "clip2"], FRAMES, size=(64, 64))
    assert_rejected(cli("distill", *recipe(tmp_path / "run", maps, videos)), "64x64", "do not fit", "96x64")


def test_a_predict_output_with_a_missing_map(cli, tmp_path, videos, micro_model):
    assert cli("predict", videos, "--model", micro_model, "--out", tmp_path / "maps", "--steps", "1",
               "--no-overlay", "--quiet").exit_code == 0
    (tmp_path / "maps" / "clip2" / "00007.png").unlink()
    assert_rejected(cli("distill", *recipe(tmp_path / "run", tmp_path / "maps", videos)), "00007.png",
                    "frame 7 missing")


def test_silent_videos_are_refused_for_an_audio_visual_student_unless_no_audio(cli, tmp_path, micro_model):
    silent = tmp_path / "silent"
    silent.mkdir()
    for index in range(2):
        make_video(silent / f"quiet{index}.mp4", FRAMES, FPS, SIZE, None)
    assert_rejected(cli("distill", *recipe(tmp_path / "run", micro_model, silent)), "quiet0.mp4", "no sound",
                    "--no-audio")
    assert not (tmp_path / "run").exists()
    outcome = cli("distill", *recipe(tmp_path / "run", micro_model, silent, **{"train.max_steps": 1}), "--no-audio")
    assert outcome.exit_code == 0, outcome.stderr


def test_an_empty_video_folder(cli, tmp_path, micro_model):
    (tmp_path / "empty").mkdir()
    assert_rejected(cli("distill", *recipe(tmp_path / "run", micro_model, tmp_path / "empty")), "empty",
                    "no video files")


def test_a_bad_recipe_key_is_named(cli, tmp_path, videos, micro_model):
    assert_rejected(cli("distill", *recipe(tmp_path / "run", micro_model, videos, **{"videos.held_out_fraction": 1})),
                    "videos.held_out_fraction")
    assert_rejected(cli("distill", *recipe(tmp_path / "run", micro_model, videos, loss="mse")), "loss")


def test_a_refused_run_changes_nothing(cli, tmp_path, videos, micro_model):
    assert cli("distill", *recipe(tmp_path / "run", micro_model, videos, **{"train.max_steps": 1})).exit_code == 0
    before = folder_state(tmp_path / "run")
    assert_rejected(cli("distill", *recipe(tmp_path / "run", micro_model, videos, **{"train.max_steps": 1})),
                    "already holds a training run")
    assert_rejected(cli("distill", *recipe(tmp_path / "run", micro_model, videos, **{"teacher.seed": 5}),
                        "--overwrite"), "other teacher settings", "seed 0 -> 5")
    assert folder_state(tmp_path / "run") == before


# ---------------------------------------------------------------------- killed runs
def _command(out_dir: Path, teacher: Path, videos: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "diffsal", "distill", *recipe(out_dir, teacher, videos), *extra]


def _kill_when(command: list[str], ready, limit_s: float = 120) -> bool:
    """Start `command`, SIGKILL it as soon as `ready()` holds; False when it finished first."""
    environment = dict(os.environ, OMP_NUM_THREADS="1")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + limit_s
    while not ready() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    killed = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return killed


def _final_weights(run: Path) -> bytes:
    return (run / "checkpoints" / "last" / "model.safetensors").read_bytes()


def _train_steps(run: Path) -> list[int]:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [record["step"] for record in records if record["kind"] == "train"]


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory) -> Path:
    return write_videos(tmp_path_factory.mktemp("long_videos"), 3, 80)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, long_videos, micro_model) -> Path:
    run = tmp_path_factory.mktemp("uninterrupted") / "run"
    subprocess.run(_command(run, micro_model, long_videos), check=True, capture_output=True,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))
    return run


def test_killed_while_caching_then_rerun_gives_the_uninterrupted_weights(tmp_path, long_videos, micro_model,
                                                                         uninterrupted):
    run = tmp_path / "run"
    cache = run / "teacher_cache" / "videos"
    killed = _kill_when(_command(run, micro_model, long_videos), lambda: len(list(cache.glob("*.npy"))) >= 1)
    if not killed or len(list(cache.glob("*.npy"))) == 3:
        pytest.skip("the cache was complete before the kill")
    assert not (run / "checkpoints").exists()
    subprocess.run(_command(run, micro_model, long_videos), check=True, capture_output=True,
                   env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert not [path for path in cache.iterdir() if path.name.startswith(".")]  # no temporary file left
    for index in range(3):
        assert (cache / f"clip{index}.npy").read_bytes() == \
            (uninterrupted / "teacher_cache" / "videos" / f"clip{index}.npy").read_bytes()
    assert _final_weights(run) == _final_weights(uninterrupted)


def test_killed_while_training_then_resumed_gives_the_uninterrupted_weights(tmp_path, long_videos, micro_model,
                                                                            uninterrupted):
    run = tmp_path / "run"
    shutil.copytree(uninterrupted / "teacher_cache", tmp_path / "shared_cache")
    command = _command(run, micro_model, long_videos, "--teacher-cache", str(tmp_path / "shared_cache"))
    killed = _kill_when(command, lambda: (run / "checkpoints" / "step-000002").is_dir())
    if not killed:
        pytest.skip("the run finished before the kill")
    subprocess.run([*command, "--resume"], check=True, capture_output=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert _final_weights(run) == _final_weights(uninterrupted)
    steps = _train_steps(run)
    assert sorted(steps) == [1, 2, 3, 4] and len(set(steps)) == len(steps)
