"""Simulated viewers: where each observer looks in each frame, and the maps made from it.

An observer reacts to what it *heard* a moment ago: its own reaction delay (150-250 ms) after
the sounding object changes, it picks a new target — the sounding object with probability
`p_sounding`, another object with `p_other`, the frame centre otherwise — and it also re-picks
at the end of each dwell (250-600 ms). The gaze follows the target (smooth pursuit) with an
offset drawn per dwell and a little per-frame jitter. Maps are built from the gaze coordinates,
so a video's ground truth is stored compactly as `(num_frames, num_observers, 2)` points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffsal.synth.audio import SoundSchedule

CENTRE = -1  # target code for "looks at the frame centre"


@dataclass(frozen=True)
class ObserverModel:
    num_observers: int = 12
    p_sounding: float = 0.8
    p_other: float = 0.12
    reaction_s: tuple[float, float] = (0.15, 0.25)
    dwell_s: tuple[float, float] = (0.25, 0.6)

    def __post_init__(self) -> None:
        if self.num_observers < 1:
            raise ValueError(f"num_observers must be >= 1, got {self.num_observers}")
        if not (0 <= self.p_sounding and 0 <= self.p_other and self.p_sounding + self.p_other <= 1):
            raise ValueError("p_sounding and p_other must be probabilities summing to at most 1")


def simulate_gaze(
    rng: np.random.Generator,
    model: ObserverModel,
    schedule: SoundSchedule,
    positions: np.ndarray,
    radii: np.ndarray,
    times_s: np.ndarray,
    size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Gaze of every observer in every frame.

    Args:
        positions: `(num_frames, num_objects, 2)` object centres (x, y) in pixels.
        radii: `(num_objects,)` object radii in pixels.
        times_s: `(num_frames,)` frame times.
        size: (width, height) of the frames.

    Returns:
        gaze: int16 `(num_frames, num_observers, 2)` pixel (x, y), inside the frame.
        targets: int8 `(num_frames, num_observers)` object index looked at, or `CENTRE`.
    """
    width, height = size
    num_frames, num_objects = positions.shape[:2]
    gaze = np.zeros((num_frames, model.num_observers, 2), dtype=np.int16)
    targets = np.zeros((num_frames, model.num_observers), dtype=np.int8)
    centre = np.array([width / 2, height / 2])
    for observer in range(model.num_observers):
        delay_s = rng.uniform(*model.reaction_s)
        heard = schedule.at(times_s - delay_s)
        heard_anything = times_s >= delay_s
        target, offset, dwell_end_s, last_heard = CENTRE, np.zeros(2), -1.0, -1
        for frame, time_s in enumerate(times_s):
            changed = heard_anything[frame] and heard[frame] != last_heard
            if changed or time_s >= dwell_end_s:
                last_heard = heard[frame] if heard_anything[frame] else -1
                target = _choose(rng, model, last_heard, num_objects)
                dwell_end_s = time_s + rng.uniform(*model.dwell_s)
                spread = radii[target] * 0.35 if target != CENTRE else height * 0.05
                offset = np.clip(rng.normal(0.0, spread, size=2), -2 * spread, 2 * spread)
            anchor = centre if target == CENTRE else positions[frame, target]
            jitter_x, jitter_y = rng.normal(0.0, 0.5, size=2)
            gaze[frame, observer, 0] = min(max(round(anchor[0] + offset[0] + jitter_x), 0), width - 1)
            gaze[frame, observer, 1] = min(max(round(anchor[1] + offset[1] + jitter_y), 0), height - 1)
            targets[frame, observer] = target
    return gaze, targets


def fixation_map(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Binary uint8 `(H, W)` map, 1 at each (x, y) point of `points` `(N, 2)`."""
    width, height = size
    fixations = np.zeros((height, width), dtype=np.uint8)
    fixations[points[:, 1], points[:, 0]] = 1
    return fixations


def saliency_map(fixations: np.ndarray, sigma_px: float) -> np.ndarray:
    """Continuous uint8 `(H, W)` map from a binary `(H, W)` fixation map: the map blurred with a
    Gaussian of `sigma_px` (computed exactly as a sum of separable Gaussians), max scaled to 255."""
    return np.rint(255.0 * fixation_density(fixations, sigma_px)).astype(np.uint8)


def fixation_density(fixations: np.ndarray, sigma_px: float) -> np.ndarray:
    """float64 `(H, W)`: the fixated pixels of `fixations` blurred with a Gaussian of `sigma_px`, max 1 (all 0
    without fixations)."""
    height, width = fixations.shape
    ys, xs = np.nonzero(fixations)
    if len(xs) == 0:
        return np.zeros((height, width))
    columns = np.exp(-0.5 * ((np.arange(width)[None, :] - xs[:, None]) / sigma_px) ** 2)  # (N, W)
    rows = np.exp(-0.5 * ((np.arange(height)[None, :] - ys[:, None]) / sigma_px) ** 2)  # (N, H)
    density = rows.T @ columns  # (H, W)
    return density / density.max()


def _choose(rng: np.random.Generator, model: ObserverModel, heard: int, num_objects: int) -> int:
    draw = rng.uniform()
    if heard < 0:  # nothing heard yet: start at the centre, as viewers do
        return CENTRE
    if draw < model.p_sounding:
        return int(heard)
    if draw < model.p_sounding + model.p_other and num_objects > 1:
        others = [index for index in range(num_objects) if index != heard]
        return int(others[rng.integers(len(others))])
    return CENTRE
