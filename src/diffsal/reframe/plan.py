"""The crop plan of a video: from per-frame saliency maps to one crop window per frame.

Per frame, the window of the target aspect ratio holding the most saliency is found on the maps
(the raw optimum). Each shot is then planned on its own, so that no path is smoothed across a
cut, along each axis the window can move on (a full-height 9:16 window out of a 16:9 frame moves
only along x):

* ``static``: one window for the whole shot, the one holding the most saliency in the shot's
  maps summed after each is scaled to unit mass (so it maximises the mean fraction of a frame's
  saliency inside the window, every frame counting alike);
* ``pan``: the L1-optimal smooth path through the raw optimum (`diffsal.reframe.path`), never
  farther from it than `max_deviation_fraction` of the window's size along that axis;
* ``auto``: static where the static window keeps, averaged over the shot's frames, at least
  `static_fraction` of the saliency fraction the raw optimum keeps; pan otherwise. A locked-off
  camera looks calmer than a path that wanders for a few percent of saliency.

The plan's JSON form (`CropPlan.to_json`, the content of a ``crop_path.json``)::

    {"format": "diffsal-crop-path", "version": 1,
     "frame_size": {"width": W, "height": H}, "aspect": {"width": 9, "height": 16},
     "window_size": {"width": w, "height": h}, "num_frames": N,
     "shots": [{"start": 0, "end": 120, "mode": "pan"}, ...],   # end exclusive
     "windows": [[x, y], ...],                                   # N integer top-left corners
     "path_windows": [[x, y], ...],                              # the camera path they are rounded from
     "raw_windows": [[x, y], ...]}                               # N per-frame optima (floats)

Positions are in frame pixels, ``0 <= x <= W - w`` and ``0 <= y <= H - h``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffsal.errors import InputError
from diffsal.reframe.path import DEFAULT_WEIGHTS, smooth_path
from diffsal.reframe.window import best_positions, crop_size, mass_inside, parse_aspect

FORMAT_NAME = "diffsal-crop-path"
FORMAT_VERSION = 1
MOTION_MODES = ("auto", "static", "pan")
SHOT_MODES = ("static", "pan")
# A shot stays static when the static window keeps >= 90 % of what the per-frame optimum keeps.
DEFAULT_STATIC_FRACTION = 0.9
# A panning window stays within a quarter of its size of the per-frame optimum: the optimum's
# centre (where the salient content is) stays inside the middle half of the window.
DEFAULT_MAX_DEVIATION_FRACTION = 0.25
# Map values converted to float64 at a time when a shot's maps are summed.
_VALUES_PER_SUM_BLOCK = 1_000_000


@dataclass
class CropPlan:
    """One crop window per frame of a video, the per-frame optimum it was planned from, and its shots.

    `positions` `(N, 2)` int64 (the crop windows), `path_positions` `(N, 2)` float64 (the camera path they are
    rounded from) and `raw_positions` `(N, 2)` float64 (the per-frame optimum) are top-left ``(x, y)`` in
    frame pixels; `shots` are ``(start, end)`` frame ranges (end exclusive) covering the video in
    order, `modes` the way each was planned (``"static"`` or ``"pan"``).
    """

    frame_size: tuple[int, int]  # (width, height)
    aspect: tuple[int, int]  # the target ratio, (width, height)
    window_size: tuple[int, int]  # (width, height), even, inside the frame
    positions: np.ndarray
    raw_positions: np.ndarray
    shots: list[tuple[int, int]]
    modes: list[str]
    path_positions: np.ndarray | None = None  # None: the windows themselves (a plan read from an older file)

    def __post_init__(self) -> None:
        if self.path_positions is None:
            self.path_positions = np.asarray(self.positions, dtype=np.float64)

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    def to_json(self) -> dict[str, Any]:
        """The plan as plain JSON-ready data, in the format described in this module."""
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "frame_size": {"width": int(self.frame_size[0]), "height": int(self.frame_size[1])},
            "aspect": {"width": int(self.aspect[0]), "height": int(self.aspect[1])},
            "window_size": {"width": int(self.window_size[0]), "height": int(self.window_size[1])},
            "num_frames": self.num_frames,
            "shots": [{"start": int(start), "end": int(end), "mode": mode}
                      for (start, end), mode in zip(self.shots, self.modes)],
            "windows": [[int(x), int(y)] for x, y in self.positions],
            "path_windows": [[round(float(x), 3), round(float(y), 3)] for x, y in self.path_positions],
            "raw_windows": [[float(x), float(y)] for x, y in self.raw_positions],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CropPlan:
        """The plan from the data of `to_json`; `InputError` naming the first key that is wrong."""
        return _plan_from_json(data)


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _json_key(data: Mapping[str, Any], key: str) -> Any:
    if key not in data:
        raise InputError(f"crop path: key {key!r} is missing")
    return data[key]


def _json_size(data: Mapping[str, Any], key: str, minimum: int) -> tuple[int, int]:
    size = _json_key(data, key)
    if not isinstance(size, Mapping) or not all(_is_integer(size.get(side)) and size[side] >= minimum
                                                 for side in ("width", "height")):
        raise InputError(f"crop path: key {key!r} must be {{'width': w, 'height': h}} with integers "
                         f">= {minimum}, got {size!r}")
    return int(size["width"]), int(size["height"])


def _json_pairs(data: Mapping[str, Any], key: str, count: int, check: Callable[[Any, Any], bool],
                description: str) -> list:
    pairs = _json_key(data, key)
    if not isinstance(pairs, list) or len(pairs) != count:
        length = len(pairs) if isinstance(pairs, list) else type(pairs).__name__
        raise InputError(f"crop path: key {key!r} must be a list of {count} [x, y] pairs, got {length}")
    for frame, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not check(*pair):
            raise InputError(f"crop path: key {key!r}, frame {frame}: {description}, got {pair!r}")
    return pairs


def _plan_from_json(data: Mapping[str, Any]) -> CropPlan:
    if not isinstance(data, Mapping):
        raise InputError(f"crop path must be a JSON object, got {type(data).__name__}")
    if _json_key(data, "format") != FORMAT_NAME:
        raise InputError(f"crop path: key 'format' must be {FORMAT_NAME!r}, got {data['format']!r}")
    if _json_key(data, "version") != FORMAT_VERSION or not _is_integer(data["version"]):
        raise InputError(f"crop path: key 'version' must be {FORMAT_VERSION}, got {data['version']!r}")
    frame_width, frame_height = _json_size(data, "frame_size", 2)
    aspect = _json_size(data, "aspect", 1)
    window_width, window_height = _json_size(data, "window_size", 2)
    if window_width > frame_width or window_height > frame_height:
        raise InputError(f"crop path: key 'window_size' {window_width}x{window_height} does not fit in "
                         f"the {frame_width}x{frame_height} frame")
    num_frames = _json_key(data, "num_frames")
    if not _is_integer(num_frames) or num_frames < 1:
        raise InputError(f"crop path: key 'num_frames' must be an integer >= 1, got {num_frames!r}")
    shots, modes = _json_shots(_json_key(data, "shots"), num_frames)
    max_x, max_y = frame_width - window_width, frame_height - window_height
    windows = _json_pairs(data, "windows", num_frames,
                          lambda x, y: _is_integer(x) and _is_integer(y) and 0 <= x <= max_x and 0 <= y <= max_y,
                          f"must be integers [x, y] with 0 <= x <= {max_x} and 0 <= y <= {max_y}")
    raw_windows = _json_pairs(data, "raw_windows", num_frames, lambda x, y: _is_number(x) and _is_number(y),
                              "must be two finite numbers [x, y]")
    path_windows = None
    if "path_windows" in data:
        path_windows = np.array(_json_pairs(data, "path_windows", num_frames,
                                            lambda x, y: _is_number(x) and _is_number(y),
                                            "must be two finite numbers [x, y]"), dtype=np.float64).reshape(num_frames, 2)
    return CropPlan(frame_size=(frame_width, frame_height), aspect=aspect,
                    window_size=(window_width, window_height),
                    positions=np.array(windows, dtype=np.int64).reshape(num_frames, 2),
                    raw_positions=np.array(raw_windows, dtype=np.float64).reshape(num_frames, 2),
                    shots=shots, modes=modes, path_positions=path_windows)


def _json_shots(entries: Any, num_frames: int) -> tuple[list[tuple[int, int]], list[str]]:
    if not isinstance(entries, list) or not entries:
        raise InputError(f"crop path: key 'shots' must be a non-empty list, got {entries!r}")
    shots, modes = [], []
    expected_start = 0
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not _is_integer(entry.get("start")) or not _is_integer(entry.get("end")):
            raise InputError(f"crop path: key 'shots', entry {index} must be {{'start', 'end', 'mode'}} with "
                             f"integer frames, got {entry!r}")
        start, end = int(entry["start"]), int(entry["end"])
        if start != expected_start or end <= start:
            raise InputError(f"crop path: key 'shots', entry {index} ({start}, {end}) must start at frame "
                             f"{expected_start} and end after it")
        if entry.get("mode") not in SHOT_MODES:
            raise InputError(f"crop path: key 'shots', entry {index}: mode must be one of {SHOT_MODES}, "
                             f"got {entry.get('mode')!r}")
        shots.append((start, end))
        modes.append(str(entry["mode"]))
        expected_start = end
    if expected_start != num_frames:
        raise InputError(f"crop path: key 'shots' ends at frame {expected_start}, not at num_frames {num_frames}")
    return shots, modes


def _checked_shots(shots: Sequence[tuple[int, int]] | None, num_frames: int) -> list[tuple[int, int]]:
    """`shots` as a list of ``(start, end)``, checked to cover ``0 .. num_frames`` in order; None: one shot."""
    if shots is None:
        return [(0, num_frames)]
    checked = []
    expected_start = 0
    for shot in shots:
        try:
            start, end = shot
        except (TypeError, ValueError):
            raise InputError(f"a shot must be (start, end), got {shot!r}") from None
        if not (_is_integer(start) and _is_integer(end)) or start != expected_start or end <= start:
            raise InputError(f"shot {shot!r} must be integers (start, end) starting at frame {expected_start} "
                             f"and ending after it")
        checked.append((int(start), int(end)))
        expected_start = int(end)
    if expected_start != num_frames:
        raise InputError(f"shots end at frame {expected_start}, but there are {num_frames} frames")
    return checked


def _checked_fraction(name: str, value: float, *, upper: float | None) -> float:
    if not _is_number(value) or value < 0 or (upper is not None and value > upper):
        limit = f" and <= {upper}" if upper is not None else ""
        raise InputError(f"{name} must be a finite number >= 0{limit}, got {value!r}")
    return float(value)


def _static_map_position(shot_maps: np.ndarray, map_window: tuple[int, int]) -> np.ndarray:
    """`(2,)` map position of the window holding the most saliency in the shot's maps, each scaled
    to unit mass (maps without mass count for nothing)."""
    totals = shot_maps.sum(axis=(1, 2), dtype=np.float64)
    scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
    summed = np.zeros(shot_maps.shape[1:])
    block_frames = max(1, _VALUES_PER_SUM_BLOCK // summed.size)
    for start in range(0, len(shot_maps), block_frames):  # in float64, a block at a time
        block = shot_maps[start:start + block_frames].astype(np.float64)
        summed += np.tensordot(scale[start:start + block_frames], block, axes=(0, 0))
    return best_positions(summed[None], map_window)[0]


def plan_crops(maps: np.ndarray, frame_size: tuple[int, int], aspect: tuple[int, int] | str, *,
               zoom: float = 1.0, motion: str = "auto", shots: Sequence[tuple[int, int]] | None = None,
               weights: tuple[float, float, float, float] = DEFAULT_WEIGHTS,
               max_deviation_fraction: float | None = DEFAULT_MAX_DEVIATION_FRACTION,
               static_fraction: float = DEFAULT_STATIC_FRACTION) -> CropPlan:
    """The crop plan for saliency `maps` `(N, H, W)` of a video of `frame_size` ``(width, height)``.

    The maps may be smaller than the frame (positions are found on the maps and scaled to frame
    pixels by their window centres). `aspect` is the target ratio (``(9, 16)`` or ``"9:16"``) and
    `zoom` >= 1 shrinks the window (`crop_size`). `motion` is ``"auto"``, ``"static"`` or
    ``"pan"`` as this module describes; `shots` ``[(start, end), ...]`` (None: one shot) are
    planned independently. `weights` and `max_deviation_fraction` (a fraction of the window's size
    along the axis; None: unbounded) go to the smooth path, `static_fraction` to the auto rule.
    """
    if motion not in MOTION_MODES:
        raise InputError(f"motion must be one of {MOTION_MODES}, got {motion!r}")
    try:
        frame_width, frame_height = frame_size
    except (TypeError, ValueError):
        raise InputError(f"frame size must be (width, height), got {frame_size!r}") from None
    if isinstance(aspect, str):
        aspect = parse_aspect(aspect)
    window_width, window_height = crop_size(frame_width, frame_height, aspect, zoom)  # checks all three
    aspect = (int(aspect[0]), int(aspect[1]))
    maps = np.asarray(maps)
    if maps.ndim != 3 or 0 in maps.shape:
        raise InputError(f"saliency maps must be a non-empty (frames, height, width) array, got shape {maps.shape}")
    num_frames, map_height, map_width = maps.shape
    if map_width > frame_width or map_height > frame_height:
        raise InputError(f"saliency maps of {map_width}x{map_height} are larger than the "
                         f"{frame_width}x{frame_height} frame")
    static_fraction = _checked_fraction("static fraction", static_fraction, upper=1.0)
    if max_deviation_fraction is not None:
        max_deviation_fraction = _checked_fraction("max deviation fraction", max_deviation_fraction, upper=None)
    shots = _checked_shots(shots, num_frames)

    scale = (frame_width / map_width, frame_height / map_height)
    window = np.array([window_width, window_height], dtype=np.float64)
    map_window = (min(max(round(window_width / scale[0]), 1), map_width),
                  min(max(round(window_height / scale[1]), 1), map_height))
    upper = np.array([frame_width - window_width, frame_height - window_height], dtype=np.float64)

    def to_frame(map_positions: np.ndarray) -> np.ndarray:
        centres = (map_positions + np.array(map_window) / 2) * scale
        return np.clip(centres - window / 2, 0.0, upper)

    raw_map_positions = best_positions(maps, map_window)
    raw_positions = to_frame(raw_map_positions)
    positions = np.empty((num_frames, 2))
    modes = []
    for start, end in shots:
        shot_maps = maps[start:end]
        mode = motion
        if motion != "pan":
            static_map_position = _static_map_position(shot_maps, map_window)
        if motion == "auto":
            static_kept = mass_inside(shot_maps, np.tile(static_map_position, (end - start, 1)), map_window).mean()
            raw_kept = mass_inside(shot_maps, raw_map_positions[start:end], map_window).mean()
            mode = "static" if static_kept >= static_fraction * raw_kept else "pan"
        if mode == "static":
            positions[start:end] = to_frame(static_map_position[None])
        else:
            for axis in (0, 1):
                if upper[axis] == 0:
                    positions[start:end, axis] = 0.0
                    continue
                deviation = None if max_deviation_fraction is None else max_deviation_fraction * window[axis]
                positions[start:end, axis] = smooth_path(raw_positions[start:end, axis], 0.0, upper[axis],
                                                         weights=weights, max_deviation=deviation)
        modes.append(mode)
    final = np.clip(np.rint(positions), 0, upper).astype(np.int64)
    return CropPlan(frame_size=(int(frame_width), int(frame_height)), aspect=aspect,
                    window_size=(window_width, window_height), positions=final,
                    raw_positions=raw_positions, shots=shots, modes=modes, path_positions=positions)


def path_quality(positions: np.ndarray, shots: Sequence[tuple[int, int]] | None = None) -> dict[str, float]:
    """Mean length of the per-frame velocity, acceleration and jerk (first, second and third
    differences of the `(N, 2)` window positions, Euclidean over x and y) in pixels per frame
    (per frame squared, cubed), each difference taken within one of `shots` when given.
    0.0 where no frames are far enough apart for a difference."""
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 2 or positions.shape[1] != 2 or positions.shape[0] == 0:
        raise InputError(f"positions must be a non-empty (frames, 2) array, got shape {positions.shape}")
    if not np.isfinite(positions).all():
        raise InputError("positions contain NaN or infinity")
    ranges = _checked_shots(shots, positions.shape[0])
    quality = {}
    for order, name in ((1, "mean_abs_velocity"), (2, "mean_abs_acceleration"), (3, "mean_abs_jerk")):
        lengths = [np.linalg.norm(np.diff(positions[start:end], n=order, axis=0), axis=1)
                   for start, end in ranges if end - start > order]
        values = np.concatenate(lengths) if lengths else np.zeros(0)
        quality[name] = float(values.mean()) if values.size else 0.0
    return quality
