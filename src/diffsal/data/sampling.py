"""Which frames become clip targets, and which training videos are held out for validation.

Training (sparse): one clip per `stride` frames of each video (74 in DiffSal). Test (dense): every
frame, the clip padded at the video's edges, so every frame gets a prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Sampling = Literal["sparse", "dense"]
DEFAULT_TRAIN_STRIDE = 74


def clip_centres(num_frames: int, sampling: Sampling, stride: int = DEFAULT_TRAIN_STRIDE, offset: int | None = None) -> np.ndarray:
    """Target frames of a video's clips, int64 `(num_clips,)`.

    Args:
        sampling: "dense" (every frame) or "sparse" (frames offset, offset + stride, ...).
        offset: first target frame of sparse sampling; None = the middle of the first stride
            (``stride // 2``, or the middle frame of a video shorter than that).
    """
    if num_frames < 1:
        return np.zeros(0, dtype=np.int64)
    if sampling == "dense":
        return np.arange(num_frames, dtype=np.int64)
    if sampling != "sparse":
        raise ValueError(f"sampling must be 'sparse' or 'dense', got {sampling!r}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if offset is None:
        offset = min(stride // 2, (num_frames - 1) // 2)
    return np.arange(min(offset, num_frames - 1), num_frames, stride, dtype=np.int64)


def target_frames(centre: int, num_frames: int, frames_out: int) -> list[int]:
    """The K = `frames_out` frames whose maps a clip centred on `centre` predicts: its central K slots
    (``centre - K // 2`` onwards), clamped to the video the way the clip's padded slots are."""
    first = centre - frames_out // 2
    return [min(max(index, 0), num_frames - 1) for index in range(first, first + frames_out)]


def random_offsets(num_videos: int, stride: int, num_frames: Sequence[int], seed: int, epoch: int) -> list[int]:
    """One sparse-sampling offset per video, uniform in [0, min(stride, num_frames)), from (seed, epoch)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, epoch]))
    return [int(rng.integers(min(stride, frames))) for frames in num_frames[:num_videos]]


def validation_videos(train_videos: Sequence[str], fraction: float, seed: int) -> list[str]:
    """A seeded subset of a *training* list held out for validation (checkpoint selection).

    round(fraction * n) videos, at least one when fraction > 0 and the list has two or more;
    chosen from the sorted names so that the file order of the list does not matter.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
    names = sorted(set(train_videos))
    if fraction == 0 or len(names) < 2:
        return []
    count = min(max(1, int(round(fraction * len(names)))), len(names) - 1)
    rng = np.random.default_rng(np.random.SeedSequence([seed, len(names)]))
    chosen = rng.choice(len(names), size=count, replace=False)
    return sorted(names[index] for index in chosen)


@dataclass(frozen=True)
class ClipSampler:
    """Which frames of each video become clip targets (the clip sampler of a `ClipDataset`).

    Attributes:
        sampling: "sparse" (one clip per `stride` frames, for training) or "dense" (every frame).
        stride: K of sparse sampling.
        random_offset: draw the first sparse target of each video anew per epoch; otherwise it is
            fixed (`clip_centres`).
        seed: seed of the random offsets.
    """

    sampling: Sampling = "dense"
    stride: int = DEFAULT_TRAIN_STRIDE
    random_offset: bool = False
    seed: int = 0

    @classmethod
    def sparse(cls, stride: int = DEFAULT_TRAIN_STRIDE, random_offset: bool = False, seed: int = 0) -> ClipSampler:
        return cls("sparse", stride, random_offset, seed)

    @classmethod
    def dense(cls) -> ClipSampler:
        return cls("dense")

    @property
    def per_epoch(self) -> bool:
        """True when the targets change with the epoch."""
        return self.random_offset and self.sampling == "sparse"

    def samples(self, num_frames: Sequence[int], epoch: int = 0) -> np.ndarray:
        """int64 `(num_clips, 2)`: (video index, target frame) pairs for videos of `num_frames` frames."""
        offsets: list[int | None] = [None] * len(num_frames)
        if self.per_epoch:
            offsets = random_offsets(len(num_frames), self.stride, list(num_frames), self.seed, epoch)
        parts = []
        for index, (frames, offset) in enumerate(zip(num_frames, offsets)):
            centres = clip_centres(frames, self.sampling, self.stride, offset)
            parts.append(np.stack([np.full_like(centres, index), centres], axis=1))
        return np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
