"""The STAViS on-disk layout of a video: a folder of numbered JPEG frames, fps from the fold list."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from diffsal.errors import MediaError
from diffsal.io.frame_source import check_frame_index
from diffsal.io.paths import absence


class FrameFolder:
    """Numbered frame images of one video (1-based on disk, 0-based here), e.g. ``img_00001.jpg``, ...

    Args:
        folder: the video's frame folder.
        fps: frame rate (the STAViS fold lists carry it; the images do not).
        pattern: file name format with one integer field, 1-based (the STAViS one is
            `diffsal.data.layout.STAVIS_FRAME_PATTERN`).

    Raises:
        MediaError: missing folder, no frames, a gap in the numbering, or fps <= 0.
    """

    def __init__(self, folder: str | Path, fps: float, pattern: str) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise MediaError(f"{self.folder}: frame folder {absence(self.folder)}")
        if not fps or fps <= 0 or not np.isfinite(fps):
            raise MediaError(f"{self.folder}: frame rate must be positive, got {fps}")
        self._fps = float(fps)
        self._pattern = pattern
        self._num_frames = _count_numbered_frames(self.folder, pattern)
        self._size: tuple[int, int] | None = None

    @property
    def num_frames(self) -> int:
        return self._num_frames

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        if self._size is None:
            self._size = self._open(0).size
        return self._size

    @property
    def duration_s(self) -> float:
        return self._num_frames / self._fps

    def path_of(self, index: int) -> Path:
        return self.folder / self._pattern.format(index + 1)

    def frame(self, index: int, size: tuple[int, int] | None = None) -> np.ndarray:
        image = self._open(check_frame_index(self, index, str(self.folder)))
        if size is not None and image.size != tuple(size):
            image = image.resize(tuple(size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return np.asarray(image)

    def time_of(self, index: int) -> float:
        return check_frame_index(self, index, str(self.folder)) / self._fps

    def index_at_time(self, time_s: float) -> int:
        return min(max(int(np.floor(time_s * self._fps + 1e-6)), 0), self._num_frames - 1)

    def close(self) -> None:
        """Nothing to release (each frame's file is opened when it is read); a `VideoReader` closes its file."""

    def __len__(self) -> int:
        return self._num_frames

    def _open(self, index: int) -> Image.Image:
        path = self.path_of(index)
        try:
            with Image.open(path) as image:
                return image.convert("RGB")
        except FileNotFoundError as error:
            raise MediaError(f"{path}: frame file missing") from error
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise MediaError(f"{path}: corrupt or unreadable image ({error})") from error


def _count_numbered_frames(folder: Path, pattern: str) -> int:
    """Number of frames 1..N present; raise if the numbering has gaps or nothing matches."""
    prefix, suffix = _split_pattern(pattern)
    regex = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + "$")
    numbers = sorted(int(match.group(1)) for name in _listdir(folder) if (match := regex.match(name)))
    if not numbers:
        raise MediaError(f"{folder}: no frames named like {pattern.format(1)}")
    expected = list(range(1, len(numbers) + 1))
    if numbers != expected:
        missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
        first_missing = folder / pattern.format(missing[0]) if missing else folder
        raise MediaError(f"{first_missing}: frame missing ({len(missing)} gap(s) in 1..{numbers[-1]})")
    return len(numbers)


def _split_pattern(pattern: str) -> tuple[str, str]:
    head, separator, tail = pattern.partition("{")
    if not separator or "}" not in tail:
        raise ValueError(f"frame pattern needs one {{}} field, got {pattern!r}")
    return head, tail.split("}", 1)[1]


def _listdir(folder: Path) -> list[str]:
    return [entry.name for entry in folder.iterdir()]
