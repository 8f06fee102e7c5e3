"""The saliency maps a video is reframed with: read from a `diffsal predict` output, at planning size.

`--maps DIR` is the prediction folder of the video (``OUT/<video>/``, ``OUT/<db>/<video>/``, ..., with its
``summary.json``) or the OUT of the run that predicted it. Any map format `predict` writes is read (PNG, the STAViS JPEGs, ``saliency.mp4``).
The maps are reduced to at most `PLANNING_WIDTH` pixels across (area averaging, so the saliency mass of a region
is kept) and held as uint8: the window is placed on them and its position scaled to frame pixels, so a 10-minute
1280x720 video needs ~0.6 GB instead of 50 GB of full-size float maps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from diffsal.errors import InputError
from diffsal.predictions.map_formats import PNG, map_format
from diffsal.predictions.folder import SUMMARY_NAME, VideoOutput

PLANNING_WIDTH = 256


def planning_size(frame_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the maps a `frame_size` video is planned on: at most `PLANNING_WIDTH` wide."""
    width, height = frame_size
    if width <= PLANNING_WIDTH:
        return width, height
    return PLANNING_WIDTH, max(1, round(height * PLANNING_WIDTH / width))


def to_planning_size(levels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A uint8 map reduced to `size` (width, height) by area averaging."""
    if levels.shape[::-1] == tuple(size):
        return np.ascontiguousarray(levels, dtype=np.uint8)
    image = Image.fromarray(levels)
    factor = levels.shape[1] // size[0]
    if levels.shape[1] == factor * size[0] and levels.shape[0] == factor * size[1]:
        return np.asarray(image.reduce(factor))  # block means (within a level of BOX), 4x faster
    return np.asarray(image.resize(size, Image.Resampling.BOX))


def check_prediction(prediction: Path, num_frames: int, frame_size: tuple[int, int]) -> dict:
    """The summary of the prediction folder `prediction`; InputError when it holds another number of frames or
    maps of another size than the video (checked before any work)."""
    path = prediction / SUMMARY_NAME
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: unreadable prediction summary ({error})") from None
    size, files = summary.get("size"), summary.get("files", {})
    if not isinstance(size, dict) or not isinstance(files, dict) or not isinstance(files.get("map_format", ""), str):
        raise InputError(f"{path}: not a prediction summary of `diffsal predict` (size or files malformed)")
    if summary.get("frames") != num_frames:
        raise InputError(f"{prediction}: holds {summary.get('frames')} maps, the video has {num_frames} frames")
    if (size.get("width"), size.get("height")) != tuple(frame_size):
        raise InputError(f"{prediction}: maps of {size.get('width')}x{size.get('height')}, the video is "
                         f"{frame_size[0]}x{frame_size[1]}")
    map_format(files.get("map_format", PNG.name))
    return summary


def read_planning_maps(prediction: Path, num_frames: int, frame_size: tuple[int, int]) -> np.ndarray:
    """uint8 `(N, h, w)` maps of the prediction folder `prediction` at `planning_size(frame_size)`.

    Raises:
        InputError: the folder holds another number of frames, maps of another size, or files that are missing.
    """
    check_prediction(prediction, num_frames, frame_size)
    output = VideoOutput.of_folder(prediction)
    target = planning_size(frame_size)
    maps = np.empty((num_frames, target[1], target[0]), dtype=np.uint8)
    count = 0
    try:
        for count, levels in enumerate(output.maps(num_frames), start=1):
            if count > num_frames:
                break
            if levels.shape != (frame_size[1], frame_size[0]):  # changed since `predict` wrote the summary
                raise InputError(f"{prediction}: map {count} is {levels.shape[1]}x{levels.shape[0]}, the video is "
                                 f"{frame_size[0]}x{frame_size[1]}")
            maps[count - 1] = to_planning_size(levels, target)
    except FileNotFoundError as error:
        raise InputError(f"{prediction}: map file missing ({error.filename})") from error
    if count != num_frames:
        raise InputError(f"{prediction}: {count} maps readable, the video has {num_frames} frames")
    return maps
