"""The reframing core: crop window size and search, the L1-optimal path, shot cuts, and the crop plan."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import scipy.optimize

from diffsal.errors import InputError
from diffsal.reframe import (CropPlan, PathSolverError, best_positions, crop_size, cuts_from_differences,
                             frame_differences, frame_signature, mass_inside, parse_aspect, path_quality,
                             plan_crops, shot_boundaries, shots_from_boundaries, smooth_path)
from diffsal.reframe import path as path_module
from diffsal.reframe.shots import DEFAULT_THRESHOLD


# ----------------------------------------------------------------------------------------------- window

@pytest.mark.parametrize("text, expected", [("9:16", (9, 16)), ("1:1", (1, 1)), ("4:5", (4, 5)),
                                            (" 16 : 9 ", (16, 9))])
def test_parse_aspect_reads_two_positive_integers(text, expected):
    assert parse_aspect(text) == expected


@pytest.mark.parametrize("text", ["9x16", "0:16", "9:0", "-9:16", "9:", ":16", "", "9.5:16", "a:b", "9:16:1"])
def test_parse_aspect_rejects_anything_else(text):
    with pytest.raises(InputError, match="aspect"):
        parse_aspect(text)


def test_parse_aspect_rejects_non_text():
    with pytest.raises(InputError, match="aspect"):
        parse_aspect(916)  # type: ignore[arg-type]


@pytest.mark.parametrize("frame, aspect, expected", [
    ((1920, 1080), "9:16", (608, 1080)),   # 1080 * 9 / 16 = 607.5 -> nearest even
    ((1920, 1080), "1:1", (1080, 1080)),
    ((1920, 1080), "4:5", (864, 1080)),
    ((1920, 1080), (16, 9), (1920, 1080)),  # the same ratio: the whole frame
    ((1080, 1920), "16:9", (1080, 608)),   # portrait to landscape: full width
    ((1280, 720), "9:16", (406, 720)),     # 405 -> 406
])
def test_crop_size_is_the_largest_even_window_of_the_ratio(frame, aspect, expected):
    width, height = crop_size(*frame, aspect)
    assert (width, height) == expected
    assert width % 2 == 0 and height % 2 == 0
    assert width <= frame[0] and height <= frame[1]
    target = parse_aspect(aspect) if isinstance(aspect, str) else aspect
    assert abs(width / height - target[0] / target[1]) < 2 / height  # off by the rounding only


def test_crop_size_zoom_divides_both_sides():
    assert crop_size(1920, 1080, "9:16", zoom=2.0) == (304, 540)
    assert crop_size(1920, 1080, "1:1", zoom=1.5) == (720, 720)
    width, height = crop_size(1920, 1080, "9:16", zoom=3.7)
    assert width % 2 == 0 and height % 2 == 0
    assert abs(height - 1080 / 3.7) <= 1


def test_crop_size_of_odd_and_tiny_frames_stays_inside_and_at_least_two():
    width, height = crop_size(1001, 999, "1:1")
    assert (width, height) == (998, 998)  # not 1000: an even window of 1000 would leave the frame
    assert crop_size(1001, 999, "9:16") == (562, 998)  # 998 * 9 / 16 = 561.4
    assert crop_size(3, 3, "9:16", zoom=50) == (2, 2)


@pytest.mark.parametrize("zoom", [0.5, 0.999, float("nan"), float("inf"), -1])
def test_crop_size_rejects_zoom_below_one_or_not_finite(zoom):
    with pytest.raises(InputError, match="zoom"):
        crop_size(1920, 1080, "9:16", zoom=zoom)


def test_crop_size_rejects_bad_frames_and_aspects():
    with pytest.raises(InputError, match="width"):
        crop_size(1, 1080, "9:16")
    with pytest.raises(InputError, match="aspect"):
        crop_size(1920, 1080, (0, 16))
    with pytest.raises(InputError, match="aspect"):
        crop_size(1920, 1080, "portrait")


def _brute_force_best(saliency: np.ndarray, width: int, height: int) -> tuple[int, int]:
    rows, columns = saliency.shape
    masses = {(x, y): saliency[y:y + height, x:x + width].sum()
              for y in range(rows - height + 1) for x in range(columns - width + 1)}
    return max(masses, key=masses.get)


@pytest.mark.parametrize("window", [(5, 13), (17, 4), (6, 7), (1, 1), (17, 13), (9, 13)])
def test_best_positions_match_brute_force(window):
    maps = np.random.default_rng(7).random((12, 13, 17)) ** 3  # continuous values: no ties
    positions = best_positions(maps, window)
    assert positions.shape == (12, 2)
    assert positions.dtype == np.float64
    for frame in range(12):
        assert tuple(positions[frame]) == _brute_force_best(maps[frame], *window)


def test_best_positions_of_float32_and_integer_maps_agree_with_float64():
    maps = np.random.default_rng(3).random((6, 20, 30))
    expected = best_positions(maps, (8, 20))
    np.testing.assert_array_equal(best_positions(maps.astype(np.float32), (8, 20)), expected)
    counts = (maps * 200).astype(np.uint8)
    for frame, position in enumerate(best_positions(counts, (8, 20))):
        assert tuple(position) == _brute_force_best(counts[frame].astype(np.float64), 8, 20)


def test_best_positions_over_many_frames_in_blocks():
    """More frames than one block of the search: every block lands at its frames."""
    maps = np.zeros((400, 45, 80), dtype=np.float32)
    columns = np.arange(400) % 70
    maps[np.arange(400), 20, columns] = 1.0
    positions = best_positions(maps, (11, 45))
    assert positions.shape == (400, 2)
    np.testing.assert_array_equal(positions[:, 1], 0.0)
    # the windows holding the salient column start at column - 10 .. column; of those, the one
    # nearest the centre position 34.5 (34 where 34 and 35 both qualify)
    expected = np.clip(34, np.maximum(columns - 10, 0), np.minimum(columns, 80 - 11))
    np.testing.assert_array_equal(positions[:, 0], expected)


def test_best_positions_full_width_window_has_x_zero():
    maps = np.random.default_rng(1).random((5, 30, 40))
    positions = best_positions(maps, (40, 10))
    np.testing.assert_array_equal(positions[:, 0], 0.0)
    for frame in range(5):
        assert tuple(positions[frame]) == _brute_force_best(maps[frame], 40, 10)


def test_best_positions_ties_go_to_the_position_nearest_the_centre():
    uniform = np.ones((1, 10, 20))
    assert tuple(best_positions(uniform, (5, 10))[0]) == (7.0, 0.0)  # centre 7.5: 7 and 8 tie, first wins
    two_spots = np.zeros((1, 10, 20))
    two_spots[0, :, 3] = 1.0
    two_spots[0, :, 13] = 1.0
    # windows 1..3 hold the left spot, 11..13 the right one: 11 is nearest the centre 8.5
    assert tuple(best_positions(two_spots, (3, 10))[0]) == (11.0, 0.0)


def test_best_positions_of_an_empty_map_is_the_centred_window():
    maps = np.zeros((3, 30, 41))
    maps[1, 5, 5] = 1.0
    positions = best_positions(maps, (10, 20))
    np.testing.assert_array_equal(positions[0], (15.5, 5.0))
    np.testing.assert_array_equal(positions[2], (15.5, 5.0))
    assert positions[1, 0] <= 5 < positions[1, 0] + 10 and positions[1, 1] <= 5 < positions[1, 1] + 20


def test_best_positions_rejects_bad_input():
    with pytest.raises(InputError, match="shape"):
        best_positions(np.ones((10, 10)), (2, 2))
    with pytest.raises(InputError, match="does not fit"):
        best_positions(np.ones((1, 10, 10)), (11, 2))
    with pytest.raises(InputError, match="does not fit"):
        best_positions(np.ones((1, 10, 10)), (0, 2))
    with pytest.raises(InputError, match="non-negative"):
        best_positions(-np.ones((1, 10, 10)), (2, 2))
    nan_map = np.ones((1, 10, 10))
    nan_map[0, 3, 3] = np.nan
    with pytest.raises(InputError, match="finite"):
        best_positions(nan_map, (2, 2))


def test_mass_inside_is_the_fraction_of_each_maps_mass():
    maps = np.zeros((3, 10, 10))
    maps[0, 2, 2] = 1.0
    maps[0, 8, 8] = 3.0
    maps[1] = 1.0
    positions = np.array([[1.0, 1.0], [4.6, 5.4], [0.0, 0.0]])  # the second rounds to (5, 5)
    fractions = mass_inside(maps, positions, (4, 4))
    np.testing.assert_allclose(fractions, [0.25, 16 / 100, 1.0])  # frame 2 has no mass
    np.testing.assert_allclose(mass_inside(maps[:1], [[6.0, 6.0]], (4, 4)), [0.75])


def test_mass_inside_of_the_best_position_is_the_most():
    maps = np.random.default_rng(5).random((8, 20, 30)) ** 4
    best = best_positions(maps, (9, 12))
    best_fraction = mass_inside(maps, best, (9, 12))
    for shift in ([3, 0], [0, -2], [-4, 1]):
        moved = np.clip(best + shift, 0, [21, 8])
        assert (mass_inside(maps, moved, (9, 12)) <= best_fraction + 1e-12).all()


def test_mass_inside_rejects_bad_positions():
    maps = np.ones((2, 10, 10))
    with pytest.raises(InputError, match="positions"):
        mass_inside(maps, np.zeros((3, 2)), (4, 4))
    with pytest.raises(InputError, match="leaves"):
        mass_inside(maps, [[0, 0], [7, 0]], (4, 4))
    with pytest.raises(InputError, match="finite"):
        mass_inside(maps, [[0, 0], [np.nan, 0]], (4, 4))


# ------------------------------------------------------------------------------------------------- path

def _total_jerk(values: np.ndarray) -> float:
    return float(np.abs(np.diff(values, n=3)).sum())


def test_smooth_path_removes_jitter_and_respects_bounds():
    rng = np.random.default_rng(0)
    frames = np.arange(400)
    raw = 300 + 150 * np.sin(frames / 60) + rng.normal(0, 6, frames.size)
    path = smooth_path(raw, 0.0, 420.0)
    assert path.shape == raw.shape
    assert (path >= 0).all() and (path <= 420).all()
    assert _total_jerk(path) < _total_jerk(raw) / 10
    assert np.abs(path - raw).mean() < 15  # it still follows the motion


def test_smooth_path_keeps_to_max_deviation():
    rng = np.random.default_rng(1)
    raw = np.cumsum(rng.normal(0, 4, 300)) + 200
    path = smooth_path(raw, 0.0, 500.0, max_deviation=5.0)
    assert np.abs(path - raw).max() <= 5.0 + 1e-9
    assert _total_jerk(path) < _total_jerk(raw) / 10
    unconstrained = smooth_path(raw, 0.0, 500.0)
    assert np.abs(unconstrained - raw).max() > 5.0  # the bound did something


def test_smooth_path_stays_inside_bounds_the_raw_path_leaves():
    raw = np.linspace(-50, 150, 120)
    path = smooth_path(raw, 0.0, 100.0)
    assert path.min() >= 0.0 and path.max() <= 100.0
    np.testing.assert_allclose(path[:5], 0.0, atol=1e-6)
    np.testing.assert_allclose(path[-5:], 100.0, atol=1e-6)


def test_smooth_path_keeps_a_step_as_a_few_segments():
    raw = np.r_[np.full(60, 100.0), np.full(60, 300.0)]
    path = smooth_path(raw, 0.0, 1000.0)
    np.testing.assert_allclose(path[:30], 100.0, atol=1e-6)
    np.testing.assert_allclose(path[-30:], 300.0, atol=1e-6)
    assert (np.diff(path) >= -1e-9).all()  # one move, never back
    kinks = np.flatnonzero(np.abs(np.diff(path, n=3)) > 1e-6)
    assert 1 <= kinks.size <= 6  # hold, ease in, ease out, hold: piecewise parabolic


def test_smooth_path_of_a_constant_is_that_constant():
    np.testing.assert_allclose(smooth_path(np.full(50, 42.0), 0.0, 100.0), 42.0, atol=1e-9)
    np.testing.assert_allclose(smooth_path(np.full(50, 142.0), 0.0, 100.0), 100.0, atol=1e-9)


def test_smooth_path_of_one_two_and_three_frames():
    np.testing.assert_allclose(smooth_path(np.array([5.0]), 0.0, 10.0), [5.0])
    np.testing.assert_allclose(smooth_path(np.array([15.0]), 0.0, 10.0), [10.0])
    two = smooth_path(np.array([5.0, 9.0]), 0.0, 10.0)
    assert two.shape == (2,)
    assert two[0] == pytest.approx(two[1], abs=1e-9) and 5 - 1e-9 <= two[0] <= 9 + 1e-9  # a move costs more
    np.testing.assert_allclose(smooth_path(np.array([5.0, 9.0, 1.0]), 0.0, 10.0), [5.0, 5.0, 5.0], atol=1e-9)
    # within 1 of (5, 9, 1) every frame moves as close to its neighbours as it may: each unit of
    # movement saved is worth 10 (velocity) against 1 (fidelity)
    np.testing.assert_allclose(smooth_path(np.array([5.0, 9.0, 1.0]), 0.0, 10.0, max_deviation=1.0),
                               [6.0, 8.0, 2.0], atol=1e-9)


def test_smooth_path_of_three_thousand_frames():
    rng = np.random.default_rng(2)
    frames = np.arange(3000)
    raw = np.clip(600 + 400 * np.sin(frames / 250) + rng.normal(0, 10, frames.size), 0, 1312)
    path = smooth_path(raw, 0.0, 1312.0, max_deviation=150.0)
    assert path.shape == (3000,)
    assert np.isfinite(path).all()
    assert np.abs(path - raw).max() <= 150.0 + 1e-9
    assert _total_jerk(path) < _total_jerk(raw) / 10


def test_smooth_path_weights_change_the_trade_off():
    raw = np.r_[np.full(20, 0.0), np.full(20, 50.0)]
    followed = smooth_path(raw, 0.0, 100.0, weights=(1.0, 10.0, 1.0, 100.0))
    ignored = smooth_path(raw, 0.0, 100.0, weights=(1.0, 1000.0, 1.0, 100.0))  # moving costs too much
    assert np.ptp(followed) > 40
    assert np.ptp(ignored) < 1e-6


def test_smooth_path_rejects_bad_input():
    with pytest.raises(InputError, match="lower bound"):
        smooth_path(np.zeros(5), 10.0, 0.0)
    with pytest.raises(InputError, match="NaN"):
        smooth_path(np.array([0.0, np.nan, 1.0]), 0.0, 10.0)
    with pytest.raises(InputError, match="1-D"):
        smooth_path(np.zeros((3, 2)), 0.0, 10.0)
    with pytest.raises(InputError, match="1-D"):
        smooth_path(np.zeros(0), 0.0, 10.0)
    with pytest.raises(InputError, match="frame 1"):
        smooth_path(np.array([5.0, 50.0]), 0.0, 10.0, max_deviation=3.0)
    with pytest.raises(InputError, match="weights"):
        smooth_path(np.zeros(5), 0.0, 10.0, weights=(1.0, -1.0, 1.0, 1.0))
    with pytest.raises(InputError, match="weights"):
        smooth_path(np.zeros(5), 0.0, 10.0, weights=(1.0, 1.0))
    with pytest.raises(InputError, match="deviation"):
        smooth_path(np.zeros(5), 0.0, 10.0, max_deviation=-1.0)


def test_smooth_path_reports_a_solver_failure(monkeypatch):
    def failing(*args, **kwargs):
        return scipy.optimize.OptimizeResult(status=4, x=None, message="numerical difficulties")

    monkeypatch.setattr(path_module.scipy.optimize, "linprog", failing)
    with pytest.raises(PathSolverError, match="numerical difficulties"):
        smooth_path(np.arange(10.0), 0.0, 20.0)


# ------------------------------------------------------------------------------------------------ shots

def _scene(num_frames: int, *, seed: int, colours: tuple, objects: list, direction: str = "x",
           pan: float = 1.5, fade: tuple[float, float] = (1.0, 1.0), noise: float = 6.0,
           size: tuple[int, int] = (96, 128)):
    """A generated shot: a textured gradient that pans, solid rectangles moving across it, a
    brightness ramp and sensor noise. `objects`: (colour, (width, height), (x, y), (vx, vy))."""
    rng = np.random.default_rng(seed)
    height, width = size
    start, end = (np.array(colour, dtype=np.float64) for colour in colours)
    ys, xs = np.mgrid[0:height, 0:width]
    for t in range(num_frames):
        shift = pan * t
        coordinate, extent = (xs, width) if direction == "x" else (ys, height)
        ramp = ((coordinate + shift) % (2 * extent)) / (2 * extent)
        ramp = 1 - np.abs(2 * ramp - 1)
        frame = start + (end - start) * ramp[..., None] + 12 * np.sin((xs + shift) / 5.0)[..., None]
        for colour, (box_width, box_height), (x0, y0), (vx, vy) in objects:
            x = round(x0 + vx * t) % (width + box_width) - box_width
            y = round(y0 + vy * t) % (height + box_height) - box_height
            frame[max(0, y):max(0, y + box_height), max(0, x):max(0, x + box_width)] = colour
        brightness = fade[0] + (fade[1] - fade[0]) * t / max(1, num_frames - 1)
        frame = frame * brightness + rng.normal(0, noise, frame.shape)
        yield np.clip(frame, 0, 255).astype(np.uint8)


FIELD = {"colours": ((30, 60, 160), (40, 170, 90)), "direction": "x",
         "objects": [((220, 40, 40), (40, 50), (0, 25), (14, 2)), ((240, 220, 50), (24, 24), (100, 60), (-11, -3))]}
STREET = {"colours": ((150, 90, 40), (230, 200, 170)), "direction": "y",
          "objects": [((30, 30, 30), (30, 40), (20, 20), (5, 3)), ((60, 200, 220), (20, 12), (90, 10), (-10, 4))]}
# FIELD with large objects racing across: consecutive frames differ by more than the cut threshold
RACE = {"colours": ((30, 60, 160), (40, 170, 90)), "direction": "x",
        "objects": [((220, 40, 40), (60, 70), (0, 15), (23, 2)), ((240, 220, 50), (40, 40), (100, 50), (-19, -3)),
                    ((250, 250, 250), (30, 30), (50, 0), (7, -17))]}
# FIELD from another camera position: nearly the same colours, the objects elsewhere
FIELD_REVERSE = {"colours": ((45, 75, 150), (50, 150, 105)), "direction": "x",
                 "objects": [((200, 50, 50), (40, 50), (70, 40), (-9, 1)), ((230, 210, 60), (24, 24), (20, 10), (6, 2))]}


@pytest.mark.parametrize("first", [FIELD, RACE])
def test_one_cut_at_the_splice_of_two_scenes_with_fast_motion_and_fades(first):
    frames = itertools.chain(_scene(60, seed=1, pan=4.0, fade=(1.0, 0.6), **first),
                             _scene(50, seed=2, fade=(0.7, 1.1), **STREET))
    assert shot_boundaries(frames) == [0, 60]  # a generator: read once, as a stream


@pytest.mark.parametrize("scene", [FIELD, STREET, FIELD_REVERSE, RACE])
def test_no_cut_inside_one_scene(scene):
    frames = _scene(80, seed=3, pan=8.0, fade=(1.0, 0.5), **scene)
    assert shot_boundaries(frames) == [0]


def test_fast_motion_is_above_the_threshold_but_not_above_its_neighbours():
    differences, count = frame_differences(_scene(80, seed=3, pan=8.0, **RACE))
    assert count == 80 and differences.shape == (79,)
    assert (differences > DEFAULT_THRESHOLD).sum() > 10  # a threshold alone would cut here
    assert cuts_from_differences(differences) == []
    assert cuts_from_differences(differences, ratio=1.0) != []


def test_a_cut_between_similar_scenes():
    similar, _ = frame_differences(itertools.chain(_scene(40, seed=4, **FIELD), _scene(40, seed=5, **FIELD_REVERSE)))
    different, _ = frame_differences(itertools.chain(_scene(40, seed=4, **FIELD), _scene(40, seed=5, **STREET)))
    assert similar[39] < different[39] / 2  # the two scenes are indeed alike
    assert cuts_from_differences(similar) == [40]


def test_camera_shake_is_not_a_cut():
    base = next(_scene(1, seed=6, pan=0.0, size=(112, 144), **FIELD))
    rng = np.random.default_rng(6)
    offsets = rng.integers(-6, 7, size=(70, 2))
    frames = (base[8 + dy:8 + dy + 96, 8 + dx:8 + dx + 128] for dy, dx in offsets)
    assert shot_boundaries(frames) == [0]


def test_frame_signature_takes_any_frame_size():
    for height, width in [(7, 5), (480, 640), (1080, 1920)]:
        signature = frame_signature(np.full((height, width, 3), 128, dtype=np.uint8))
        assert signature.thumbnail.shape == (min(16, height), min(16, width), 3)
        assert signature.histogram.sum() == pytest.approx(1.0)
    assert frame_differences([np.zeros((7, 5, 3), np.uint8), np.zeros((480, 640, 3), np.uint8)])[0][0] == 0.0


def test_min_shot_frames_keeps_the_stronger_of_close_cuts():
    differences = np.full(99, 0.02)
    differences[29] = 0.6   # cut at frame 30
    differences[34] = 0.4   # cut at frame 35, 5 frames later
    differences[4] = 0.7    # cut at frame 5, 5 frames after the start
    assert cuts_from_differences(differences, min_shot_frames=12) == [30]
    assert cuts_from_differences(differences, min_shot_frames=3) == [5, 30, 35]
    differences[95] = 0.9   # cut at frame 96, 4 frames before the end
    assert cuts_from_differences(differences, min_shot_frames=12) == [30]


def test_threshold_and_ratio_both_decide():
    differences = np.full(59, 0.02)
    differences[29] = 0.08
    assert cuts_from_differences(differences, threshold=0.1) == []  # above its neighbours but small
    assert cuts_from_differences(differences, threshold=0.05, ratio=3.0) == [30]
    busy = np.full(59, 0.15)
    busy[29] = 0.3
    assert cuts_from_differences(busy, ratio=3.0) == []  # large but only twice its neighbours
    assert cuts_from_differences(busy, ratio=1.5) == [30]


def test_shot_detection_rejects_bad_frames():
    with pytest.raises(InputError, match="no"):
        shot_boundaries(iter([]))
    with pytest.raises(InputError, match="frame 1"):
        shot_boundaries([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.float32)])
    with pytest.raises(InputError, match="frame 0"):
        shot_boundaries([np.zeros((8, 8), np.uint8)])
    with pytest.raises(InputError, match="min_shot_frames"):
        cuts_from_differences(np.zeros(10), min_shot_frames=0)


def test_a_single_frame_is_one_shot():
    assert shot_boundaries([np.zeros((8, 8, 3), np.uint8)]) == [0]


def test_shots_from_boundaries():
    assert shots_from_boundaries([0, 60, 90], 120) == [(0, 60), (60, 90), (90, 120)]
    assert shots_from_boundaries([0], 1) == [(0, 1)]
    for boundaries in ([], [5, 60], [0, 60, 60], [0, 70, 60], [0, 120]):
        with pytest.raises(InputError, match="boundar"):
            shots_from_boundaries(boundaries, 120)
    with pytest.raises(InputError, match="frames"):
        shots_from_boundaries([0], 0)


# ------------------------------------------------------------------------------------------------- plan

MAP_SIZE = (90, 160)   # maps at a quarter of the frame
FRAME = (640, 360)


def _blob_maps(centres_x: np.ndarray, centres_y: np.ndarray | float = 45.0, sigma: float = 5.0) -> np.ndarray:
    ys, xs = np.mgrid[0:MAP_SIZE[0], 0:MAP_SIZE[1]]
    centres_y = np.broadcast_to(centres_y, centres_x.shape)
    return np.exp(-((xs[None] - centres_x[:, None, None]) ** 2 + (ys[None] - centres_y[:, None, None]) ** 2)
                  / (2 * sigma ** 2))


def test_window_follows_a_blob_moving_left_to_right():
    centres = np.linspace(8, 152, 150)
    rng = np.random.default_rng(8)
    maps = _blob_maps(centres + rng.normal(0, 1.0, centres.size))  # the prediction jitters
    plan = plan_crops(maps, FRAME, "9:16")
    assert plan.window_size == (202, 360)
    assert plan.positions.shape == (150, 2) and plan.positions.dtype == np.int64
    assert plan.modes == ["pan"]
    np.testing.assert_array_equal(plan.positions[:, 1], 0)  # full height: y never moves
    assert (plan.positions[:, 0] >= 0).all() and (plan.positions[:, 0] <= 640 - 202).all()
    blob_x = centres * 4  # in frame pixels
    inside = (blob_x >= plan.positions[:, 0]) & (blob_x < plan.positions[:, 0] + 202)
    assert inside.mean() >= 0.95
    assert plan.positions[-1, 0] - plan.positions[0, 0] > 300  # it really travelled
    assert (np.diff(plan.positions[:, 0]) >= -1).all()  # no back-and-forth beyond rounding
    assert path_quality(plan.positions)["mean_abs_jerk"] < path_quality(plan.raw_positions)["mean_abs_jerk"] / 3


def test_static_mode_gives_one_position_per_shot():
    centres = np.r_[np.linspace(30, 60, 40), np.linspace(100, 130, 40)]
    plan = plan_crops(_blob_maps(centres), FRAME, "9:16", motion="static", shots=[(0, 40), (40, 80)])
    assert plan.modes == ["static", "static"]
    assert len(np.unique(plan.positions[:40], axis=0)) == 1
    assert len(np.unique(plan.positions[40:], axis=0)) == 1
    # each static window is centred on the middle of its shot's blob travel
    assert abs(plan.positions[0, 0] + 101 - 45 * 4) <= 8
    assert abs(plan.positions[40, 0] + 101 - 115 * 4) <= 8


@pytest.mark.parametrize("motion", ["auto", "pan", "static"])
def test_the_window_jumps_at_the_cut_without_panning_across_it(motion):
    centres = np.r_[np.full(50, 25.0), np.full(50, 135.0)]
    maps = _blob_maps(centres)
    plan = plan_crops(maps, FRAME, "9:16", motion=motion, shots=[(0, 50), (50, 100)])
    left, right = plan.positions[0, 0], plan.positions[50, 0]
    np.testing.assert_array_equal(plan.positions[:50, 0], left)
    np.testing.assert_array_equal(plan.positions[50:, 0], right)
    assert left <= 25 * 4 < left + 202 and right <= 135 * 4 < right + 202
    assert right - left > 300


def test_without_the_cut_the_same_maps_pan_through_intermediate_positions():
    centres = np.r_[np.full(50, 25.0), np.full(50, 135.0)]
    plan = plan_crops(_blob_maps(centres), FRAME, "9:16", motion="pan")
    assert len(np.unique(plan.positions[:, 0])) > 3  # the contrast to the test above


def test_auto_keeps_a_still_subject_static_and_follows_a_moving_one():
    rng = np.random.default_rng(9)
    still = _blob_maps(80 + rng.normal(0, 1.5, 60))
    moving = _blob_maps(np.linspace(15, 145, 60))
    plan = plan_crops(np.concatenate([still, moving]), FRAME, "9:16", shots=[(0, 60), (60, 120)])
    assert plan.modes == ["static", "pan"]
    assert len(np.unique(plan.positions[:60], axis=0)) == 1
    always_static = plan_crops(moving, FRAME, "9:16", static_fraction=0.0)
    assert always_static.modes == ["static"]


def test_both_axes_move_when_the_window_is_smaller_than_the_frame():
    centres_x = np.linspace(30, 130, 80)
    centres_y = np.linspace(25, 65, 80)
    plan = plan_crops(_blob_maps(centres_x, centres_y), FRAME, "1:1", zoom=2.0, motion="pan")
    assert plan.window_size == (180, 180)
    blob = np.stack([centres_x * 4, centres_y * 4], axis=1)
    inside = ((blob >= plan.positions) & (blob < plan.positions + 180)).all(axis=1)
    assert inside.mean() >= 0.95
    assert np.ptp(plan.positions[:, 1]) > 100


def test_plan_of_maps_at_frame_size_and_of_empty_maps():
    maps = np.zeros((10, 36, 64))
    maps[:, 18, 50] = 1.0
    plan = plan_crops(maps, (64, 36), "9:16")
    assert plan.window_size == (20, 36)
    assert (plan.positions[:, 0] <= 50).all() and (plan.positions[:, 0] + 20 > 50).all()
    empty = plan_crops(np.zeros((5, 36, 64)), (64, 36), "9:16")
    np.testing.assert_array_equal(empty.positions, np.tile([22, 0], (5, 1)))  # the centred window


def test_plan_rejects_bad_input():
    maps = _blob_maps(np.full(10, 80.0))
    with pytest.raises(InputError, match="motion"):
        plan_crops(maps, FRAME, "9:16", motion="zoom")
    with pytest.raises(InputError, match="larger than"):
        plan_crops(maps, (100, 50), "9:16")
    with pytest.raises(InputError, match="shots end"):
        plan_crops(maps, FRAME, "9:16", shots=[(0, 5)])
    with pytest.raises(InputError, match="shot"):
        plan_crops(maps, FRAME, "9:16", shots=[(0, 5), (6, 10)])
    with pytest.raises(InputError, match="static fraction"):
        plan_crops(maps, FRAME, "9:16", static_fraction=1.5)
    with pytest.raises(InputError, match="zoom"):
        plan_crops(maps, FRAME, "9:16", zoom=0.5)
    with pytest.raises(InputError, match="aspect"):
        plan_crops(maps, FRAME, "tall")


def _small_plan() -> CropPlan:
    centres = np.r_[np.full(20, 25.0), np.linspace(60, 140, 30)]
    return plan_crops(_blob_maps(centres), FRAME, "9:16", shots=[(0, 20), (20, 50)])


def test_json_round_trip():
    plan = _small_plan()
    data = json.loads(json.dumps(plan.to_json()))
    assert data["format"] == "diffsal-crop-path" and data["version"] == 1
    assert data["frame_size"] == {"width": 640, "height": 360}
    assert data["window_size"] == {"width": 202, "height": 360}
    assert data["aspect"] == {"width": 9, "height": 16}
    assert data["num_frames"] == 50
    assert data["shots"] == [{"start": 0, "end": 20, "mode": plan.modes[0]},
                             {"start": 20, "end": 50, "mode": plan.modes[1]}]
    assert len(data["windows"]) == 50 and all(isinstance(value, int) for value in data["windows"][7])
    restored = CropPlan.from_json(data)
    assert restored.frame_size == plan.frame_size and restored.window_size == plan.window_size
    assert restored.aspect == plan.aspect and restored.shots == plan.shots and restored.modes == plan.modes
    np.testing.assert_array_equal(restored.positions, plan.positions)
    np.testing.assert_array_equal(restored.raw_positions, plan.raw_positions)
    assert restored.positions.dtype == np.int64


@pytest.mark.parametrize("change, key", [
    (lambda data: data.pop("windows"), "windows"),
    (lambda data: data.update(format="something-else"), "format"),
    (lambda data: data.update(version=2), "version"),
    (lambda data: data.update(frame_size={"width": 640}), "frame_size"),
    (lambda data: data.update(window_size={"width": 700, "height": 360}), "window_size"),
    (lambda data: data.update(num_frames=0), "num_frames"),
    (lambda data: data["windows"].pop(), "windows"),
    (lambda data: data["windows"].__setitem__(3, [439, 0]), "windows"),
    (lambda data: data["windows"].__setitem__(3, [10.5, 0]), "windows"),
    (lambda data: data["raw_windows"].__setitem__(0, [float("nan"), 0.0]), "raw_windows"),
    (lambda data: data["shots"][1].update(start=21), "shots"),
    (lambda data: data["shots"][1].update(end=49), "shots"),
    (lambda data: data["shots"][0].update(mode="zoom"), "shots"),
])
def test_from_json_names_the_bad_key(change, key):
    data = _small_plan().to_json()
    change(data)
    with pytest.raises(InputError, match=f"'{key}'"):
        CropPlan.from_json(data)


def test_from_json_rejects_a_non_object():
    with pytest.raises(InputError, match="JSON object"):
        CropPlan.from_json([1, 2, 3])  # type: ignore[arg-type]


def test_path_quality_measures_motion_within_shots():
    positions = np.zeros((20, 2))
    positions[:, 0] = 2.0 * np.arange(20)
    positions[10:, 0] += 100  # a jump at frame 10
    quality = path_quality(positions, shots=[(0, 10), (10, 20)])
    assert quality == pytest.approx({"mean_abs_velocity": 2.0, "mean_abs_acceleration": 0.0, "mean_abs_jerk": 0.0})
    across = path_quality(positions)
    assert across["mean_abs_velocity"] == pytest.approx((18 * 2 + 102) / 19)
    assert across["mean_abs_jerk"] > 0
    diagonal = np.stack([3.0 * np.arange(5), 4.0 * np.arange(5)], axis=1)
    assert path_quality(diagonal)["mean_abs_velocity"] == pytest.approx(5.0)
    assert path_quality(np.zeros((1, 2))) == {"mean_abs_velocity": 0.0, "mean_abs_acceleration": 0.0,
                                              "mean_abs_jerk": 0.0}
    with pytest.raises(InputError, match="shots end"):
        path_quality(positions, shots=[(0, 10)])
