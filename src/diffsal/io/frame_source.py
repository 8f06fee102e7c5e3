"""The interface that clip reading needs from anything that holds video frames."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

_CONSTANT_RATE_TOLERANCE_S = 0.001  # a millisecond clock rounds k / fps by up to half of this


@runtime_checkable
class FrameSource(Protocol):
    """Random access to the frames of one video, numbered 0 .. num_frames-1 in display order.

    Implemented by `VideoReader` (a video file) and `FrameFolder` (the STAViS layout of
    ``img_%05d.jpg`` files). Times are in seconds from the first frame.
    """

    @property
    def num_frames(self) -> int: ...

    @property
    def fps(self) -> float: ...

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames in pixels, as shown (a video's display rotation applied)."""
        ...

    def frame(self, index: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """Frame `index` as RGB uint8 `(H, W, 3)`, resized (stretched) to `size` = (width, height) if given."""
        ...

    def time_of(self, index: int) -> float:
        """Presentation time of frame `index` in seconds from the first frame."""
        ...

    def index_at_time(self, time_s: float) -> int:
        """Index of the frame on screen at `time_s` (clamped to the video)."""
        ...

    def close(self) -> None:
        """Release the source's file, if it holds one."""
        ...


def check_frame_index(source: FrameSource, index: int, name: str) -> int:
    """Return `index` as an int after checking that `source` has such a frame."""
    index = int(index)
    if not 0 <= index < source.num_frames:
        raise IndexError(f"{name}: frame index {index} out of range 0..{source.num_frames - 1}")
    return index


def variable_frame_times(source: FrameSource) -> list[float] | None:
    """The frame times in seconds of a variable-rate source; None when frame k is at k / fps
    (within `_CONSTANT_RATE_TOLERANCE_S`: timestamps rounded to the file's clock), as most are."""
    times = [source.time_of(index) for index in range(source.num_frames)]
    if source.fps > 0 and all(abs(time - index / source.fps) <= _CONSTANT_RATE_TOLERANCE_S
                              for index, time in enumerate(times)):
        return None
    return times
