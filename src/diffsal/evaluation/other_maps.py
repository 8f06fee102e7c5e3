"""The "other map" of shuffled AUC: where negatives are drawn from. Two variants, named in every report.

- ``same-video`` (STAViS, ``createShuffmap1.m``): the union of the fixation maps of every frame of
  the same video, minus the current frame's fixated pixels (under the ``stavis`` protocol only those
  stored as 1, as ``shufMap1(eyeMap == 1) = 0`` does). It removes the video's own centre
  and object bias but also rewards nothing the video's observers looked at elsewhere in time.
- ``other-videos``: the union of the fixations of one random frame from each of N random other
  videos of the same database (Borji's "M = 10 other images", for video). Fixations of a video
  with another frame size are mapped to the current frame proportionally. Seeded per frame.

Fixations are held as flat pixel indices per frame, so a whole benchmark fits in memory.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field

import numpy as np

from diffsal.data.ground_truth import GroundTruth
from diffsal.errors import DatasetError, InputError
from diffsal.evaluation.layouts import GroundTruthVideo

SAUC_VARIANTS = ("same-video", "other-videos")
DEFAULT_OTHER_VIDEOS = 10


@dataclass
class VideoFixations:
    """The fixations of every scored frame of one video, as flat indices into `(H, W)` maps."""

    shape: tuple[int, int]
    frames: dict[int, np.ndarray]  # frame -> sorted flat indices (int64) of fixated pixels
    union: np.ndarray  # sorted flat indices fixated in any frame
    not_one: dict[int, np.ndarray] = field(default_factory=dict)  # frame -> fixated pixels not stored as 1

    def fixation_map(self, frame: int) -> np.ndarray:
        return _to_map(self.frames[frame], self.shape)

    @functools.cached_property
    def union_map(self) -> np.ndarray:
        return _to_map(self.union, self.shape)

    @functools.cached_property
    def frames_with_fixations(self) -> list[int]:
        return [frame for frame, indices in self.frames.items() if indices.size]


def load_video_fixations(ground_truth: GroundTruthVideo) -> VideoFixations:
    """Read every fixation map of `ground_truth`; DatasetError naming a missing, corrupt or odd-sized file."""
    shape = None
    frames, not_one = {}, {}
    truth = GroundTruth(ground_truth.record)
    try:
        for frame in ground_truth.frames:
            fixations = truth.fixation_values(frame - 1)
            if shape is None:
                shape = fixations.shape
            elif fixations.shape != shape:
                raise DatasetError(f"{ground_truth.fixation_path(frame)}: fixation map is {fixations.shape}, earlier "
                                   f"frames of the video are {shape}")
            fixated = fixations != 0
            frames[frame] = np.flatnonzero(fixated)
            if (fixations[fixated] != 1).any():
                not_one[frame] = np.flatnonzero(fixated & (fixations != 1))
    finally:
        truth.close()
    if shape is None:
        raise DatasetError(f"{ground_truth.folder}: no frames to score")
    union = np.unique(np.concatenate(list(frames.values()))) if frames else np.empty(0, np.int64)
    return VideoFixations(shape, frames, union, not_one)


class OtherMaps:
    """Builds the sAUC other map of any scored frame from the fixations of all scored videos."""

    def __init__(self, variant: str, fixations: dict[tuple[str, str], VideoFixations], *,
                 other_videos: int = DEFAULT_OTHER_VIDEOS, seed: int = 0) -> None:
        if variant not in SAUC_VARIANTS:
            raise InputError(f"unknown sAUC variant {variant!r}; choose {', '.join(SAUC_VARIANTS)}")
        if other_videos < 1:
            raise InputError(f"the other-videos sAUC variant needs N >= 1 videos, got {other_videos}")
        self.variant = variant
        self.fixations = fixations
        self.other_videos = other_videos
        self.seed = seed

    def describe(self) -> dict:
        description = {"variant": self.variant}
        if self.variant == "other-videos":
            description["other_videos"] = self.other_videos
        return description

    def other_map(self, database: str, video: str, frame: int, *, remove_only_ones: bool = False) -> np.ndarray:
        """`(H, W)` bool map of the negatives' pixels for `frame` of `database/video`.

        `remove_only_ones` (same-video): keep the frame's fixated pixels not stored as 1 in the map.
        """
        own = self.fixations[(database, video)]
        if self.variant == "same-video":
            other = own.union_map.copy()
            other.flat[own.frames[frame]] = False
            if remove_only_ones and frame in own.not_one:
                other.flat[own.not_one[frame]] = True
            return other
        rng = np.random.default_rng([self.seed, zlib.crc32(database.encode()), zlib.crc32(video.encode()), frame])
        candidates = sorted(key for key, fixations in self.fixations.items()
                            if key[0] == database and key[1] != video and fixations.union.size)
        chosen = rng.choice(len(candidates), size=min(self.other_videos, len(candidates)), replace=False) \
            if candidates else []
        other = np.zeros(own.shape, dtype=bool)
        for index in chosen:
            source = self.fixations[candidates[index]]
            with_fixations = source.frames_with_fixations
            source_frame = with_fixations[rng.integers(len(with_fixations))]
            rows, columns = np.unravel_index(source.frames[source_frame], source.shape)
            other[(rows * own.shape[0]) // source.shape[0], (columns * own.shape[1]) // source.shape[1]] = True
        return other


def _to_map(indices: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    result = np.zeros(shape[0] * shape[1], dtype=bool)
    result[indices] = True
    return result.reshape(shape)
