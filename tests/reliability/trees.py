"""Tiny dataset trees in the STAViS and DHF1K layouts, built by the reliability tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from media import make_video, pattern_frame
from PIL import Image

from diffsal.data.annotations import write_fixation_mat, write_saliency_map

SIZE = (80, 48)  # (width, height)
FPS = 5


def ground_truth(frame: int, size: tuple[int, int] = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(fixations bool, map in [0, 1]) of a frame: two fixated pixels and a blob around them."""
    width, height = size
    fixations = np.zeros((height, width), bool)
    fixations[height // 3, (5 + 7 * frame) % width] = fixations[2 * height // 3, width // 2] = True
    rows, columns = np.mgrid[0:height, 0:width]
    saliency = np.exp(-((rows - height / 2) ** 2 + (columns - (5 + 7 * frame) % width) ** 2) / 60.0)
    return fixations, saliency / saliency.max()


def make_dhf1k(root: Path, layout: str, videos: dict[int, int]) -> Path:
    """DHF1K with `videos` (number -> frames) in one layout: "official" (video/NNN.AVI + annotation/NNNN/),
    "flat" (NNNN/{images,maps,fixation}/) or "parts" (the same under train/ val/ test/)."""
    for number, frames in videos.items():
        name = f"{number:04d}"
        part = "train" if number <= 600 else "val" if number <= 700 else "test"
        if layout == "official":
            folder = root / "annotation" / name
            (root / "video").mkdir(parents=True, exist_ok=True)
            avi = make_video(root / "video" / f"{number:03d}.avi", frames, 30, SIZE)
            avi.rename(avi.with_suffix(".AVI"))  # the official naming
        else:
            folder = root / (part if layout == "parts" else ".") / name
            (folder / "images").mkdir(parents=True)
            for index in range(frames):
                Image.fromarray(pattern_frame(index, *SIZE)).save(folder / "images" / f"{index + 1:04d}.png")
        (folder / "maps").mkdir(parents=True)
        (folder / "fixation").mkdir()
        for index in range(frames):
            fixations, saliency = ground_truth(index)
            write_saliency_map(folder / "maps" / f"{index + 1:04d}.png", saliency)
            write_saliency_map(folder / "fixation" / f"{index + 1:04d}.png", fixations.astype(np.float32))
    return root


def make_stavis(root: Path, videos: dict[str, int]) -> Path:
    """A STAViS database "DB" (frames, wavs, eyeMaps, fixMaps, split-1 test list) without any audio content."""
    lines = []
    for name, frames in videos.items():
        frames_dir, maps = root / "video_frames" / "DB" / name, root / "annotations" / "DB" / name / "maps"
        frames_dir.mkdir(parents=True)
        maps.mkdir(parents=True)
        for index in range(frames):
            Image.fromarray(pattern_frame(index, *SIZE)).save(frames_dir / f"img_{index + 1:05d}.jpg")
            fixations, saliency = ground_truth(index)
            write_fixation_mat(maps.parent / f"fixMap_{index + 1:05d}.mat", fixations)
            write_saliency_map(maps / f"eyeMap_{index + 1:05d}.jpg", saliency)
        lines.append(f"{name} {frames} {FPS}")
    (root / "fold_lists").mkdir(parents=True)
    (root / "fold_lists" / "DB_list_test_1_fps.txt").write_text("\n".join(lines) + "\n")
    return root
