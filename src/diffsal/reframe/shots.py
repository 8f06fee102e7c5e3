"""Shot cuts found by a frame-difference test, reading frames as a stream.

Each RGB frame is reduced to a signature: a 16 x 16 colour thumbnail (block means: where things
are) and a soft joint RGB histogram of 4 levels per channel (which colours there are, blind to
where). The difference of consecutive frames is the mean of the thumbnails' mean absolute
difference and the histograms' total-variation distance, both in [0, 1].

A cut is declared between frames t - 1 and t when their difference is

* above an absolute `threshold` (a slow fade or sensor noise changes a frame by little), and
* more than `ratio` times the local level, the median difference of the frames within
  `radius` of t (t itself left out): within a shot with fast motion or camera movement every
  frame differs a lot from the one before, so only a jump well above its neighbours is a cut.

Candidates are taken strongest first, and one closer than `min_shot_frames` to a cut already
taken, to the first frame or to the end is dropped, so that every shot is at least that long.
The histogram is soft-binned (each pixel shares its weight between the nearest levels), so a
fade moves weight gradually instead of flipping a whole flat area to the next bin at one frame.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from diffsal.errors import InputError

THUMBNAIL_SIZE = 16  # rows and columns of block means
HISTOGRAM_LEVELS = 4  # per colour channel: 4 ** 3 = 64 joint bins
# Frames are subsampled with one stride in both directions down to about this many pixels
# before the signature is taken (a 1080p frame: every 6th pixel, 225 pixels per thumbnail block).
SIGNATURE_PIXELS = 65_536

DEFAULT_THRESHOLD = 0.05  # two synthetic-benchmark scenes (grey backgrounds, other objects) differ by 0.08
DEFAULT_RATIO = 4.0  # camera shake: single differences up to 2.7x their neighbours
DEFAULT_RADIUS = 12  # frames either side: about one second of context at 25 fps
DEFAULT_MIN_SHOT_FRAMES = 12  # 0.5 s at 24 fps; pass round(0.5 * fps) for other rates


@dataclass(frozen=True)
class FrameSignature:
    """What a frame is compared by: `thumbnail` `(rows, columns, 3)` block means in [0, 1] and
    `histogram` `(HISTOGRAM_LEVELS ** 3,)` colour weights summing to 1."""

    thumbnail: np.ndarray
    histogram: np.ndarray


def _block_means(image: np.ndarray, blocks: int, axis: int) -> np.ndarray:
    length = image.shape[axis]
    blocks = min(blocks, length)
    edges = np.linspace(0, length, blocks + 1).astype(np.int64)
    sums = np.add.reduceat(image, edges[:-1], axis=axis, dtype=np.float64)
    counts = np.diff(edges).reshape([-1 if index == axis else 1 for index in range(image.ndim)])
    return sums / counts


def _soft_histogram(pixels: np.ndarray) -> np.ndarray:
    """Joint RGB histogram of `(P, 3)` uint8 pixels with trilinear weights between the levels."""
    levels = HISTOGRAM_LEVELS
    scaled = pixels.astype(np.float64) * ((levels - 1) / 255.0)
    lower = np.minimum(np.floor(scaled).astype(np.int64), levels - 2)
    upper_weight = scaled - lower
    histogram = np.zeros(levels ** 3)
    for corner in range(8):
        steps = np.array([(corner >> 2) & 1, (corner >> 1) & 1, corner & 1])
        index = lower + steps
        weight = np.prod(np.where(steps == 1, upper_weight, 1.0 - upper_weight), axis=1)
        flat = (index[:, 0] * levels + index[:, 1]) * levels + index[:, 2]
        histogram += np.bincount(flat, weights=weight, minlength=levels ** 3)
    return histogram / len(pixels)


def frame_signature(frame: np.ndarray) -> FrameSignature:
    """The signature of one RGB uint8 `(H, W, 3)` frame of any size."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 \
            or frame.shape[2] != 3 or 0 in frame.shape:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise InputError(f"a frame must be an RGB uint8 (height, width, 3) array, got shape {shape} of {dtype}")
    stride = max(1, math.ceil(math.sqrt(frame.shape[0] * frame.shape[1] / SIGNATURE_PIXELS)))
    sample = frame[::stride, ::stride]
    thumbnail = _block_means(_block_means(sample, THUMBNAIL_SIZE, axis=0), THUMBNAIL_SIZE, axis=1) / 255.0
    return FrameSignature(thumbnail=thumbnail, histogram=_soft_histogram(sample.reshape(-1, 3)))


def signature_difference(first: FrameSignature, second: FrameSignature) -> float:
    """In [0, 1]: the mean of the thumbnails' mean absolute difference (thumbnails of different
    shapes, from frames of very different sizes, count as the histogram term alone) and the
    histograms' total-variation distance."""
    histogram_distance = 0.5 * float(np.abs(first.histogram - second.histogram).sum())
    if first.thumbnail.shape != second.thumbnail.shape:
        return histogram_distance
    layout_distance = float(np.abs(first.thumbnail - second.thumbnail).mean())
    return 0.5 * (layout_distance + histogram_distance)


def frame_differences(frames: Iterable[np.ndarray]) -> tuple[np.ndarray, int]:
    """Differences of consecutive frames, `(N - 1,)` (entry t - 1 between frames t - 1 and t), and N.

    Reads `frames` once, keeping only the previous frame's signature.
    """
    differences = []
    previous = None
    count = 0
    for frame in frames:
        try:
            signature = frame_signature(frame)
        except InputError as error:
            raise InputError(f"frame {count}: {error}") from None
        if previous is not None:
            differences.append(signature_difference(previous, signature))
        previous = signature
        count += 1
    if count == 0:
        raise InputError("shot detection needs at least one frame, got none")
    return np.asarray(differences, dtype=np.float64), count


def cuts_from_differences(differences: np.ndarray, *, threshold: float = DEFAULT_THRESHOLD,
                          ratio: float = DEFAULT_RATIO, radius: int = DEFAULT_RADIUS,
                          min_shot_frames: int = DEFAULT_MIN_SHOT_FRAMES) -> list[int]:
    """Sorted first frames of every shot after the first (the frames t whose difference to t - 1
    is a cut, by the test in this module's description), from `differences` `(N - 1,)`."""
    differences = np.asarray(differences, dtype=np.float64)
    if differences.ndim != 1 or not np.isfinite(differences).all():
        raise InputError("frame differences must be a 1-D array of finite numbers")
    if not (math.isfinite(threshold) and threshold >= 0):
        raise InputError(f"cut threshold must be a finite number >= 0, got {threshold!r}")
    if not (math.isfinite(ratio) and ratio >= 1):
        raise InputError(f"cut ratio must be a finite number >= 1, got {ratio!r}")
    for name, value in (("radius", radius), ("min_shot_frames", min_shot_frames)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise InputError(f"{name} must be an integer >= 1, got {value!r}")
    num_frames = differences.size + 1
    candidates = []
    for index, difference in enumerate(differences):
        if difference <= threshold:
            continue
        neighbours = np.concatenate([differences[max(0, index - radius):index],
                                     differences[index + 1:index + 1 + radius]])
        level = float(np.median(neighbours)) if neighbours.size else 0.0
        if difference > ratio * level:
            candidates.append((difference, index + 1))
    cuts: list[int] = []
    for _, frame in sorted(candidates, key=lambda candidate: (-candidate[0], candidate[1])):
        if frame < min_shot_frames or num_frames - frame < min_shot_frames:
            continue
        if all(abs(frame - cut) >= min_shot_frames for cut in cuts):
            cuts.append(frame)
    return sorted(cuts)


def shot_boundaries(frames: Iterable[np.ndarray], *, threshold: float = DEFAULT_THRESHOLD,
                    ratio: float = DEFAULT_RATIO, radius: int = DEFAULT_RADIUS,
                    min_shot_frames: int = DEFAULT_MIN_SHOT_FRAMES) -> list[int]:
    """0-based first frame of every shot of the RGB uint8 `(H, W, 3)` `frames` (read once, as a
    stream), starting with 0; the test and its parameters are in this module's description."""
    differences, _ = frame_differences(frames)
    return [0, *cuts_from_differences(differences, threshold=threshold, ratio=ratio, radius=radius,
                                      min_shot_frames=min_shot_frames)]


def shots_from_boundaries(boundaries: Sequence[int], num_frames: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` (end exclusive) of the shots starting at `boundaries` in a video of
    `num_frames` frames; the boundaries must rise strictly from 0 and stay below `num_frames`."""
    if not isinstance(num_frames, (int, np.integer)) or isinstance(num_frames, bool) or num_frames < 1:
        raise InputError(f"number of frames must be an integer >= 1, got {num_frames!r}")
    starts = list(boundaries)
    if not starts or starts[0] != 0:
        raise InputError(f"shot boundaries must start with frame 0, got {starts[:3]}")
    for previous, start in itertools.pairwise(starts):
        if not isinstance(start, (int, np.integer)) or isinstance(start, bool) or start <= previous:
            raise InputError(f"shot boundaries must be rising integers, got {previous} then {start!r}")
    if starts[-1] >= num_frames:
        raise InputError(f"shot boundary {starts[-1]} is not inside a video of {num_frames} frames")
    ends = [*starts[1:], num_frames]
    return [(int(start), int(end)) for start, end in zip(starts, ends)]
