"""What the distillation tests share: short videos with sound and a micro distillation recipe as overrides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from media import make_video, tone

FPS = 25
SIZE = (96, 64)  # width, height of the test videos
MICRO_STUDENT = {"num_frames": 4, "frames_out": 4, "height": 32, "width": 64}


def sound(frames: int) -> np.ndarray:
    wave = tone(frames / FPS, 44_100, 440.0)
    return np.stack([wave, 0.5 * wave])


def write_videos(folder: Path, count: int, frames: int) -> Path:
    """`count` mp4 files clip0.mp4 ... of `frames` frames with a stereo tone."""
    for index in range(count):
        make_video(folder / f"clip{index}.mp4", frames, FPS, SIZE, sound(frames), 44_100)
    return folder


def distill_overrides(out_dir: Path, teacher: Path, videos: Path, **extra) -> list[str]:
    """``key=value`` overrides of a distillation of `teacher` over `videos` into a micro student (seconds on a CPU)."""
    values = {
        "out_dir": out_dir, "teacher.path": teacher, "videos.paths": f"[{videos}]", "videos.held_out_fraction": 0.34,
        "videos.train_stride": 4, "videos.validation_stride": 8, "videos.num_workers": 0, "student.model": "tiny",
        "student.overrides": json.dumps(MICRO_STUDENT), "teacher.batch_size": 4, "optim.lr": 1e-3,
        "optim.schedule": "constant", "train.batch_size": 2, "train.max_steps": 3, "train.log_every": 1,
        "train.eval_every": 2, "train.checkpoint_every": 1, "train.seed": 0,
    }
    values.update(extra)
    return [f"{key}={value}" for key, value in values.items()]
