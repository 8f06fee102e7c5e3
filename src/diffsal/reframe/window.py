"""The crop window: its size for a target aspect ratio, and where per frame it holds the most saliency.

Positions are top-left corners ``(x, y)``; sizes are ``(width, height)``. The search runs on
prefix sums of each map (a summed-area table built one axis at a time), so every window position
of every frame costs a few subtractions, whatever the window's size.
"""

from __future__ import annotations

import math
import re

import numpy as np

from diffsal.errors import InputError

# Map values per block of the summed-area search (8 MB of float64 tables): a long video never needs
# a table of all its frames at once, and a block's tables stay in cache.
_VALUES_PER_BLOCK = 1_000_000

# Two window masses closer than this fraction of the frame's total mass are a tie.
_TIE_TOLERANCE = 1e-9

_ASPECT_PATTERN = re.compile(r"\s*(\d+)\s*:\s*(\d+)\s*")


def parse_aspect(text: str) -> tuple[int, int]:
    """``"9:16"`` -> ``(9, 16)``: width and height of an aspect ratio, two positive integers."""
    if not isinstance(text, str):
        raise InputError(f"aspect ratio must be text like '9:16', got {text!r}")
    match = _ASPECT_PATTERN.fullmatch(text)
    if match is None:
        raise InputError(f"aspect ratio must be two positive integers 'W:H' like '9:16', got {text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if width == 0 or height == 0:
        raise InputError(f"aspect ratio needs positive width and height, got {text!r}")
    return width, height


def _checked_aspect(aspect: tuple[int, int] | str) -> tuple[int, int]:
    if isinstance(aspect, str):
        return parse_aspect(aspect)
    try:
        width, height = aspect
    except (TypeError, ValueError):
        raise InputError(f"aspect ratio must be (width, height), got {aspect!r}") from None
    if not all(isinstance(side, (int, np.integer)) and not isinstance(side, bool) and side > 0
               for side in (width, height)):
        raise InputError(f"aspect ratio needs two positive integers, got {aspect!r}")
    return int(width), int(height)


def _even(value: float) -> int:
    return 2 * math.floor(value / 2 + 0.5)


def crop_size(frame_width: int, frame_height: int, aspect: tuple[int, int] | str,
              zoom: float = 1.0) -> tuple[int, int]:
    """``(width, height)`` of the crop window: the largest window of ratio `aspect` inside the frame,
    divided by `zoom` (>= 1), each side rounded to the nearest even number (H.264 needs even sizes)
    and at least 2. An odd frame side counts as one pixel less, so the rounded window always fits."""
    for name, side in (("width", frame_width), ("height", frame_height)):
        if not isinstance(side, (int, np.integer)) or isinstance(side, bool) or side < 2:
            raise InputError(f"frame {name} must be an integer >= 2 pixels, got {side!r}")
    aspect_width, aspect_height = _checked_aspect(aspect)
    if not isinstance(zoom, (int, float, np.integer, np.floating)) or isinstance(zoom, bool) \
            or not math.isfinite(zoom) or zoom < 1:
        raise InputError(f"zoom must be a finite number >= 1, got {zoom!r}")
    # Fitted into the frame's largest even area, a side rounded to the nearest even number stays inside.
    usable_width, usable_height = frame_width - frame_width % 2, frame_height - frame_height % 2
    if usable_width * aspect_height >= usable_height * aspect_width:  # the frame is wider: full height
        height = float(usable_height)
        width = height * aspect_width / aspect_height
    else:
        width = float(usable_width)
        height = width * aspect_height / aspect_width
    return max(_even(width / zoom), 2), max(_even(height / zoom), 2)


def _checked_maps(maps: np.ndarray) -> np.ndarray:
    maps = np.asarray(maps)
    if maps.ndim != 3 or 0 in maps.shape:
        raise InputError(f"saliency maps must be a non-empty (frames, height, width) array, got shape {maps.shape}")
    if not (np.issubdtype(maps.dtype, np.floating) or np.issubdtype(maps.dtype, np.integer)) \
            or maps.dtype == np.bool_:
        raise InputError(f"saliency maps must be real numbers, got dtype {maps.dtype}")
    return maps


def _checked_window(window: tuple[int, int], map_width: int, map_height: int) -> tuple[int, int]:
    try:
        width, height = window
    except (TypeError, ValueError):
        raise InputError(f"window must be (width, height), got {window!r}") from None
    if not all(isinstance(side, (int, np.integer)) and not isinstance(side, bool) for side in (width, height)):
        raise InputError(f"window sides must be integers, got {window!r}")
    if not (1 <= width <= map_width and 1 <= height <= map_height):
        raise InputError(f"window {width}x{height} does not fit in maps of {map_width}x{map_height}")
    return int(width), int(height)


def _vertical_runs(values: np.ndarray, size: int) -> np.ndarray:
    """`(n, H - size + 1, W)` float64 sums of every `size` consecutive rows of `values` `(n, H, W)`.

    The prefix sums over rows are built one row at a time, each step one vectorised addition of
    whole rows (numpy's cumsum along a middle axis is several times slower).
    """
    frames, height, width = values.shape
    if size == height:
        return values.sum(axis=1, keepdims=True, dtype=np.float64)
    prefix = np.empty((frames, height + 1, width))
    prefix[:, 0] = 0.0
    for row in range(height):
        np.add(prefix[:, row], values[:, row], out=prefix[:, row + 1])
    return prefix[:, size:] - prefix[:, :height - size + 1]


def _horizontal_runs(values: np.ndarray, size: int) -> np.ndarray:
    """`(n, H, W - size + 1)` float64 sums of every `size` consecutive columns of `values` `(n, H, W)`.

    The prefix sums run over the whole block flattened (one contiguous pass); each run is the
    difference of two of them, both inside one row.
    """
    width = values.shape[2]
    if size == width:
        return values.sum(axis=2, keepdims=True, dtype=np.float64)
    values = np.ascontiguousarray(values, dtype=np.float64)
    prefix = np.zeros(values.size + 1)
    np.cumsum(values.reshape(-1), out=prefix[1:])
    inclusive = prefix[1:].reshape(values.shape)
    exclusive = prefix[:-1].reshape(values.shape)
    return inclusive[..., size - 1:] - exclusive[..., :width - size + 1]


def _window_masses(block: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Mass of every window position, `(n, H - height + 1, W - width + 1)`, and each map's total `(n,)`.

    Box sums are separable: the summed-area table is built one axis at a time, runs of rows first,
    then runs of columns of those.
    """
    totals = block.sum(axis=(1, 2), dtype=np.float64)
    return _horizontal_runs(_vertical_runs(block, height), width), totals


def best_positions(maps: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """`(N, 2)` float top-left ``(x, y)`` of the `window` ``(width, height)`` that holds the most
    saliency in each of the `(N, H, W)` `maps`, in the maps' pixel grid.

    Among positions of equal mass the one nearest the centre position ``((W - w) / 2, (H - h) / 2)``
    wins (the first in row-major order where two are equally near). A map without mass (all zero)
    gets the centred window exactly, which is fractional where ``W - w`` or ``H - h`` is odd.
    Maps must be finite and non-negative.
    """
    maps = _checked_maps(maps)
    frames, map_height, map_width = maps.shape
    width, height = _checked_window(window, map_width, map_height)
    centre_x, centre_y = (map_width - width) / 2, (map_height - height) / 2
    offsets_y, offsets_x = np.meshgrid(np.arange(map_height - height + 1) - centre_y,
                                       np.arange(map_width - width + 1) - centre_x, indexing="ij")
    distance = (offsets_x ** 2 + offsets_y ** 2).ravel()
    columns = offsets_x.shape[1]
    positions = np.empty((frames, 2))
    block_frames = max(1, _VALUES_PER_BLOCK // (map_height * map_width))
    for start in range(0, frames, block_frames):
        block = maps[start:start + block_frames]
        if block.min() < 0:
            raise InputError("saliency maps must be non-negative")
        masses, totals = _window_masses(block, width, height)
        if not np.isfinite(totals).all():
            raise InputError("saliency maps must be finite (found NaN or infinity)")
        masses = masses.reshape(len(block), -1)
        best = masses.max(axis=1)
        tied = masses >= (best - _TIE_TOLERANCE * totals)[:, None]
        choice = np.where(tied, distance[None, :], np.inf).argmin(axis=1)
        block_positions = np.stack([choice % columns, choice // columns], axis=1).astype(np.float64)
        block_positions[totals <= 0] = (centre_x, centre_y)
        positions[start:start + len(block)] = block_positions
    return positions


def mass_inside(maps: np.ndarray, positions: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """`(N,)` fraction of each map's total saliency inside `window` ``(width, height)`` at `positions`
    `(N, 2)` top-left ``(x, y)`` (rounded to the nearest pixel); 1.0 for a map without mass."""
    maps = _checked_maps(maps)
    frames, map_height, map_width = maps.shape
    width, height = _checked_window(window, map_width, map_height)
    positions = np.asarray(positions, dtype=np.float64)
    if positions.shape != (frames, 2):
        raise InputError(f"positions must be ({frames}, 2) for {frames} maps, got shape {positions.shape}")
    if not np.isfinite(positions).all():
        raise InputError("window positions must be finite")
    corners = np.rint(positions).astype(np.int64)
    outside = ((corners[:, 0] < 0) | (corners[:, 0] > map_width - width)
               | (corners[:, 1] < 0) | (corners[:, 1] > map_height - height))
    if outside.any():
        frame = int(np.flatnonzero(outside)[0])
        raise InputError(f"window {width}x{height} at {tuple(positions[frame])} (frame {frame}) "
                         f"leaves the {map_width}x{map_height} map")
    totals = maps.sum(axis=(1, 2), dtype=np.float64)
    if not np.isfinite(totals).all():
        raise InputError("saliency maps must be finite (found NaN or infinity)")
    if maps.min() < 0:
        raise InputError("saliency maps must be non-negative")
    inside = np.array([maps[frame, y:y + height, x:x + width].sum(dtype=np.float64)
                       for frame, (x, y) in enumerate(corners)])
    return np.where(totals > 0, inside / np.where(totals > 0, totals, 1.0), 1.0)
