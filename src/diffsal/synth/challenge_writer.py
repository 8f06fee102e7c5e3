"""Writing the synthetic benchmark in the challenge layout (AIM 2024 / NTIRE 2026; paths:
`diffsal.data.layout.ChallengeLayout`).

Per video: ``Videos/<name>.mp4`` with its sound; the continuous maps (the observers' fixations blurred, min-max
normalised) as a lossless 10-bit map video under ``SaliencyTrain/Train/`` or ``SaliencyTest/Test/``; the
fixations as ``fixations.json`` (per frame one ``[row, col]`` per observer, so two observers on one pixel give it
twice) with binary ``fixations_maps/001.png ...`` beside it. Split 1's training videos are the ``train`` part,
its test videos alternate between ``public_test`` and ``private_test``. ``TrainTestSplit.json`` and
``VideoInfo.json`` are written last.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from diffsal.data.layout import (CHALLENGE_FIXATION_MAP_PATTERN, CHALLENGE_FIXATION_MAPS, CHALLENGE_FIXATIONS_FILE,
                                 ChallengeLayout)
from diffsal.io.atomic import atomic_output
from diffsal.io.audio import AudioTrack
from diffsal.io.writer import write_gray_video, write_video
from diffsal.synth.audio import SAMPLE_RATE_HZ
from diffsal.synth.config import SynthConfig, SyntheticVideo
from diffsal.synth.observers import fixation_density, fixation_map
from diffsal.synth.scene import render_frame

MAP_LEVELS = 1023  # 10-bit map videos


def challenge_parts(train: list[str], test: list[str]) -> dict[str, list[str]]:
    """The split file's parts from one split's train and test lists."""
    return {"train": list(train), "public_test": test[0::2], "private_test": test[1::2]}


def write_challenge_video(root: str | Path, config: SynthConfig, video: SyntheticVideo, subset: str) -> None:
    """The video with its sound, its map video and its fixations; `subset` "train" or "test" (which folders)."""
    layout = ChallengeLayout(root)
    size = (config.width, config.height)
    layout.videos_dir.mkdir(parents=True, exist_ok=True)
    frames = (render_frame(video.scene, video.time_of(index)) for index in range(video.num_frames))
    write_video(layout.video_path(video.name), frames, config.fps,
                audio=AudioTrack(video.audio[None, :], SAMPLE_RATE_HZ))
    map_video = layout.map_video_path(video.name, subset)
    map_video.parent.mkdir(parents=True, exist_ok=True)
    write_gray_video(map_video, (map_levels(fixation_map(video.gaze[index].astype(np.int64), size), config.sigma_px)
                                 for index in range(video.num_frames)), config.fps, bits=10)
    folder = layout.fixations_dir(video.name, subset)
    maps = folder / CHALLENGE_FIXATION_MAPS[0]
    maps.mkdir(parents=True, exist_ok=True)
    for index in range(video.num_frames):
        fixated = fixation_map(video.gaze[index].astype(np.int64), size)
        Image.fromarray(fixated * np.uint8(255)).save(maps / CHALLENGE_FIXATION_MAP_PATTERN.format(index + 1))
    points = [[[int(y), int(x)] for x, y in video.gaze[index]] for index in range(video.num_frames)]
    _write_json(folder / CHALLENGE_FIXATIONS_FILE, points)


def map_levels(fixations: np.ndarray, sigma_px: float) -> np.ndarray:
    """uint16 10-bit levels of the continuous map of one frame, min-max normalised."""
    density = fixation_density(fixations, sigma_px)
    low, high = density.min(), density.max()
    if high > low:
        density = (density - low) / (high - low)
    return np.rint(MAP_LEVELS * density).astype(np.uint16)


def write_challenge_split(root: str | Path, config: SynthConfig, train: list[str], test: list[str]) -> None:
    """``TrainTestSplit.json`` and ``VideoInfo.json`` (per video its licence, frame rate, frame count, size)."""
    layout = ChallengeLayout(root)
    info = {name: {"license": "CC-BY-4.0", "source": "diffsal synth", "fps": config.fps,
                   "frames": config.num_frames, "width": config.width, "height": config.height}
            for name in sorted(train + test)}
    _write_json(layout.info_file, info)
    _write_json(layout.split_file, challenge_parts(train, test))


def _write_json(path: Path, payload) -> None:
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(payload, sort_keys=True) + "\n", encoding="utf-8")
