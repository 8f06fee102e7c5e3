"""Clips: T consecutive frames around a centre frame, resized and normalised for a video encoder.

How frames are resized and normalised is the model's business: `ClipReader` applies any `ClipTransform`, the
model's (``config.preprocessing().frames``, a `diffsal.models.preprocessing.FrameTransform`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch

from diffsal.io.frame_source import FrameSource, check_frame_index



class ClipTransform(Protocol):
    """What `ClipReader` needs of a model's frame transform."""

    size: tuple[int, int]  # (height, width) of the model's frames

    def decode_size(self, source_size: tuple[int, int]) -> tuple[int, int] | None:
        """(width, height) to scale to while decoding; None: full resolution, then `resize`."""

    def resize(self, frame: np.ndarray) -> np.ndarray:
        """uint8 `(h, w, 3)` -> uint8 `(H, W, 3)`."""

    def normalise(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 `(T, H, W, 3)` -> float32 `(3, T, H, W)`."""


ResizeMode = Literal["stretch", "letterbox"]


@dataclass(frozen=True)
class FrameGeometry:
    """Where the original frame lies inside the resized one, to map predictions back.

    `content` is (left, top, width, height) in pixels of the (out_height, out_width) clip frame.
    """

    source_size: tuple[int, int]  # (width, height) of the original frames
    out_size: tuple[int, int]  # (height, width) of the clip frames
    content: tuple[int, int, int, int]

    @classmethod
    def fit(cls, source_size: tuple[int, int], out_size: tuple[int, int], mode: ResizeMode) -> FrameGeometry:
        source_width, source_height = source_size
        out_height, out_width = out_size
        if mode == "stretch":
            return cls(source_size, out_size, (0, 0, out_width, out_height))
        if mode == "letterbox":
            scale = min(out_width / source_width, out_height / source_height)
            width = max(1, round(source_width * scale))
            height = max(1, round(source_height * scale))
            return cls(source_size, out_size, ((out_width - width) // 2, (out_height - height) // 2, width, height))
        raise ValueError(f"resize mode must be 'stretch' or 'letterbox', got {mode!r}")

    def to_source(self, clip_map: torch.Tensor) -> torch.Tensor:
        """Map `(..., out_H, out_W)` from clip space back to `(..., src_H, src_W)` (bilinear)."""
        left, top, width, height = self.content
        content = clip_map[..., top : top + height, left : left + width]
        leading = content.shape[:-2]
        flat = content.reshape(-1, 1, height, width).float()
        source_width, source_height = self.source_size
        resized = torch.nn.functional.interpolate(flat, size=(source_height, source_width), mode="bilinear", align_corners=False)
        return resized.reshape(*leading, source_height, source_width)


@dataclass
class Clip:
    """A clip ready for the video encoder.

    Attributes:
        frames: float32 `(3, T, H, W)`, normalised by the reader's `FrameTransform`.
        indices: the source frame index used for each of the T slots (edge frames repeated).
        centre: the target frame index (slot ``T // 2``).
        pad_before / pad_after: how many slots repeat the first / last frame of the video.
        geometry: how the source frames were placed in the `(H, W)` clip frames.
    """

    frames: torch.Tensor
    indices: list[int]
    centre: int
    pad_before: int
    pad_after: int
    geometry: FrameGeometry

    @property
    def padded(self) -> bool:
        return self.pad_before > 0 or self.pad_after > 0


def clip_indices(centre: int, num_frames: int, clip_length: int) -> tuple[list[int], int, int]:
    """Source indices of a `clip_length` clip whose slot ``clip_length // 2`` is `centre`.

    Returns (indices, pad_before, pad_after); indices outside the video repeat its edge frames.
    """
    first = centre - clip_length // 2
    wanted = range(first, first + clip_length)
    pad_before = sum(1 for index in wanted if index < 0)
    pad_after = sum(1 for index in wanted if index >= num_frames)
    return [min(max(index, 0), num_frames - 1) for index in wanted], pad_before, pad_after


class ClipReader:
    """Reads a model's clips from a `FrameSource`, caching resized uint8 frames for sliding windows.

    Args:
        source: a `VideoReader`, a `FrameFolder` or anything with the `FrameSource` interface.
        clip_length: T, frames per clip.
        transform: the model's `FrameTransform` (``config.preprocessing().frames``): its size, how the
            frames get there, and their normalisation.
        resize_mode: "stretch" (ignore the aspect ratio, as DiffSal does) or "letterbox" (keep the
            aspect ratio, pad with black; only with a transform that scales while decoding, i.e.
            without `resize_steps`).
    """

    def __init__(
        self,
        source: FrameSource,
        clip_length: int,
        transform: ClipTransform,
        resize_mode: ResizeMode = "stretch",
    ) -> None:
        if clip_length < 1:
            raise ValueError(f"clip_length must be >= 1, got {clip_length}")
        self.source = source
        self.clip_length = clip_length
        self.transform = transform
        self.size = tuple(transform.size)
        self.geometry = FrameGeometry.fit(source.size, self.size, resize_mode)
        self._decode_size = transform.decode_size(source.size)
        if self._decode_size is None and resize_mode != "stretch":
            raise ValueError(f"resize mode {resize_mode!r} needs frames scaled while decoding; this model's frames "
                             "are resized from the full frame (resize_steps), which only stretches")
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_frames = 2 * clip_length

    def clip(self, centre: int) -> Clip:
        centre = check_frame_index(self.source, centre, "clip centre")
        indices, pad_before, pad_after = clip_indices(centre, self.source.num_frames, self.clip_length)
        stacked = np.stack([self._resized(index) for index in indices])  # (T, H, W, 3) uint8
        frames = self.transform.normalise(stacked)
        return Clip(frames, indices, centre, pad_before, pad_after, self.geometry)

    def clip_at_time(self, time_s: float) -> Clip:
        return self.clip(self.source.index_at_time(time_s))

    def _resized(self, index: int) -> np.ndarray:
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        if self._decode_size is None:  # the model's own resizes of the full-resolution frame
            resized = self.transform.resize(self.source.frame(index))
        else:
            left, top, width, height = self.geometry.content
            content = self.source.frame(index, size=(width, height))
            if (width, height) == (self.size[1], self.size[0]):
                resized = content
            else:
                resized = np.zeros((*self.size, 3), dtype=np.uint8)
                resized[top : top + height, left : left + width] = content
        self._cache[index] = resized
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)
        return resized
