"""The videos of a reframing: the cropped video, and a preview of the window over the saliency overlay.

Both are decoded from the input frame by frame (read ahead in a thread while the previous frame is encoded),
written with the input's frame times and its sound re-encoded as AAC (`diffsal.io.writer.write_video`), and
appear under their final names only when complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from diffsal.io.overlay import blend
from diffsal.io.overlap import read_ahead
from diffsal.io.frame_source import variable_frame_times
from diffsal.io.audio import AudioTrack
from diffsal.io.video import VideoReader
from diffsal.io.writer import write_video
from diffsal.reframe.plan import CropPlan

PREVIEW_MAX_WIDTH = 640
WINDOW_COLOUR = np.array([255, 255, 255], dtype=np.uint8)
Progress = Callable[[int], None]  # frames written so far


def _frames(reader: VideoReader, size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    return read_ahead(reader.frame(index, size) for index in range(reader.num_frames))


def write_cropped(video: Path, plan: CropPlan, out: Path, sound: AudioTrack | None,
                  progress: Progress | None = None) -> int:
    """The frames of `video` cut to the plan's windows, into `out` (H.264 + AAC); the number of frames."""
    width, height = plan.window_size
    with VideoReader(video) as reader:

        def cropped() -> Iterator[np.ndarray]:
            for index, frame in enumerate(_frames(reader)):
                x, y = (int(value) for value in plan.positions[index])
                yield frame[y : y + height, x : x + width]
                if progress is not None:
                    progress(index + 1)

        return write_video(out, cropped(), reader.fps, audio=sound, frame_times_s=variable_frame_times(reader))


def preview_size(frame_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the preview: the frame scaled to at most `PREVIEW_MAX_WIDTH` wide, even sizes."""
    width, height = frame_size
    scale = min(1.0, PREVIEW_MAX_WIDTH / width)
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


def draw_window(frame: np.ndarray, box: tuple[int, int, int, int], thickness: int = 2) -> np.ndarray:
    """`frame` with the outline of `box` (x, y, width, height, in its pixels) drawn in `WINDOW_COLOUR`."""
    x, y, width, height = box
    right, bottom = min(x + width, frame.shape[1]), min(y + height, frame.shape[0])
    frame[y : y + thickness, x:right] = WINDOW_COLOUR
    frame[max(y, bottom - thickness) : bottom, x:right] = WINDOW_COLOUR
    frame[y:bottom, x : x + thickness] = WINDOW_COLOUR
    frame[y:bottom, max(x, right - thickness) : right] = WINDOW_COLOUR
    return frame


def write_preview(video: Path, plan: CropPlan, maps: np.ndarray, out: Path, sound: AudioTrack | None) -> int:
    """The input (scaled down) under its saliency overlay, with the crop window drawn, into `out`."""
    size = preview_size(plan.frame_size)
    scale = size[0] / plan.frame_size[0], size[1] / plan.frame_size[1]
    width, height = plan.window_size
    with VideoReader(video) as reader:

        def previews() -> Iterator[np.ndarray]:
            for index, frame in enumerate(_frames(reader, size)):
                levels = np.asarray(Image.fromarray(maps[index]).resize(size, Image.Resampling.BILINEAR))
                x, y = plan.positions[index]
                box = (round(x * scale[0]), round(y * scale[1]), round(width * scale[0]), round(height * scale[1]))
                yield draw_window(blend(frame, levels), box)

        return write_video(out, previews(), reader.fps, audio=sound, frame_times_s=variable_frame_times(reader))
