"""The visual side of a synthetic video: coloured objects, a drifting textured background, distractors.

Nothing here knows which object sounds: `render_frame` takes only the scene and a time, so the
frames are, by construction, identical whatever the sound track says (docs/synthetic.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The colours an object can have; the index is the object's "kind" and picks its sound (audio.py).
PALETTE: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("red", (225, 45, 45)),
    ("green", (45, 190, 70)),
    ("blue", (55, 95, 235)),
    ("yellow", (235, 210, 45)),
    ("magenta", (215, 55, 205)),
    ("cyan", (45, 205, 215)),
)
SHAPES = ("disc", "square", "diamond")


@dataclass(frozen=True)
class Trajectory:
    """Smooth motion: per axis, a centre plus two sinusoids, kept inside the frame.

    position(t) = centre + sum_i amplitude_i * sin(2 pi frequency_i t + phase_i), in pixels.
    Arrays are `(2, 2)`: axis (x, y) by component.
    """

    centre: tuple[float, float]
    amplitude: np.ndarray
    frequency_hz: np.ndarray
    phase: np.ndarray

    def position(self, time_s: np.ndarray | float) -> np.ndarray:
        """`(..., 2)` (x, y) pixel positions at `time_s`."""
        time_s = np.asarray(time_s, dtype=np.float64)[..., None, None]
        offsets = (self.amplitude * np.sin(2 * np.pi * self.frequency_hz * time_s + self.phase)).sum(axis=-1)
        return np.asarray(self.centre) + offsets


@dataclass(frozen=True)
class SceneObject:
    colour: int  # index into PALETTE
    shape: str
    radius_px: float
    trajectory: Trajectory
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    """Everything needed to draw the frames of one video.

    Attributes:
        objects: the coloured objects that can sound (and that observers look at).
        distractors: desaturated moving shapes that never sound and are never looked at.
        texture: uint8 `(H + 2 * margin, W + 2 * margin, 3)` background, panned over time.
        pan: trajectory of the background window's offset inside the margin.
    """

    width: int
    height: int
    objects: tuple[SceneObject, ...]
    distractors: tuple[SceneObject, ...]
    texture: np.ndarray
    margin: int
    pan: Trajectory

    def positions(self, time_s: np.ndarray) -> np.ndarray:
        """`(len(time_s), num_objects, 2)` object centres (x, y) in pixels."""
        return np.stack([item.trajectory.position(time_s) for item in self.objects], axis=1)


def make_scene(rng: np.random.Generator, width: int, height: int, num_objects: int, num_distractors: int) -> Scene:
    """Draw a random scene: `num_objects` objects of distinct palette colours, shapes chosen
    independently of colour, plus distractors and a background texture."""
    if not 2 <= num_objects <= len(PALETTE):
        raise ValueError(f"num_objects must be in 2..{len(PALETTE)}, got {num_objects}")
    colours = rng.choice(len(PALETTE), size=num_objects, replace=False)
    objects = []
    for colour in colours:
        radius = float(rng.uniform(0.09, 0.13) * height)
        objects.append(SceneObject(
            colour=int(colour),
            shape=str(SHAPES[rng.integers(len(SHAPES))]),
            radius_px=radius,
            trajectory=_random_trajectory(rng, width, height, radius, speed=1.0),
            rgb=PALETTE[colour][1],
        ))
    distractors = []
    for _ in range(num_distractors):
        radius = float(rng.uniform(0.05, 0.09) * height)
        grey = int(rng.integers(70, 200))
        tint = rng.integers(-18, 19, size=3)
        rgb = tuple(int(np.clip(grey + t, 0, 255)) for t in tint)
        distractors.append(SceneObject(
            colour=-1,
            shape=str(SHAPES[rng.integers(len(SHAPES))]),
            radius_px=radius,
            trajectory=_random_trajectory(rng, width, height, radius, speed=2.0),
            rgb=rgb,
        ))
    margin = max(4, width // 12)
    texture = _background_texture(rng, width + 2 * margin, height + 2 * margin)
    pan = Trajectory(
        centre=(margin, margin),
        amplitude=np.array([[0.6 * margin, 0.3 * margin], [0.6 * margin, 0.3 * margin]]),
        frequency_hz=rng.uniform(0.03, 0.12, size=(2, 2)),
        phase=rng.uniform(0, 2 * np.pi, size=(2, 2)),
    )
    return Scene(width, height, tuple(objects), tuple(distractors), texture, margin, pan)


def render_frame(scene: Scene, time_s: float) -> np.ndarray:
    """RGB uint8 `(H, W, 3)` frame of `scene` at `time_s`: background, distractors, then objects."""
    offset_x, offset_y = np.rint(scene.pan.position(time_s)).astype(int)
    offset_x = int(np.clip(offset_x, 0, 2 * scene.margin))
    offset_y = int(np.clip(offset_y, 0, 2 * scene.margin))
    frame = scene.texture[offset_y : offset_y + scene.height, offset_x : offset_x + scene.width].copy()
    for item in scene.distractors + scene.objects:
        _draw(frame, item, item.trajectory.position(time_s))
    return frame


def _random_trajectory(rng: np.random.Generator, width: int, height: int, radius: float, speed: float) -> Trajectory:
    """Two sinusoids per axis whose amplitudes sum to at most the free room, so the shape stays inside."""
    room = np.array([width / 2 - radius, height / 2 - radius])
    shares = rng.uniform(0.55, 0.9, size=2)
    split = rng.uniform(0.5, 0.8, size=2)
    amplitude = np.stack([room * shares * split, room * shares * (1 - split)], axis=1)  # (axis, component)
    frequency = rng.uniform(0.05, 0.16, size=(2, 2)) * speed
    frequency[:, 1] *= 2.3
    centre_jitter = room * (1 - shares) * rng.uniform(-1, 1, size=2)
    centre = (width / 2 + centre_jitter[0], height / 2 + centre_jitter[1])
    return Trajectory(centre, amplitude, frequency, rng.uniform(0, 2 * np.pi, size=(2, 2)))


def _background_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Low-saturation colour blotches (bilinearly upsampled coarse noise) plus fine grain."""
    coarse_h, coarse_w = 5, 8
    base = rng.uniform(60, 150, size=(coarse_h, coarse_w, 1))
    hue = rng.uniform(-30, 30, size=(coarse_h, coarse_w, 3))
    coarse = base + hue
    rows = np.linspace(0, coarse_h - 1, height)
    cols = np.linspace(0, coarse_w - 1, width)
    r0 = np.floor(rows).astype(int).clip(0, coarse_h - 2)
    c0 = np.floor(cols).astype(int).clip(0, coarse_w - 2)
    fr = (rows - r0)[:, None, None]
    fc = (cols - c0)[None, :, None]
    top = coarse[r0][:, c0] * (1 - fc) + coarse[r0][:, c0 + 1] * fc
    bottom = coarse[r0 + 1][:, c0] * (1 - fc) + coarse[r0 + 1][:, c0 + 1] * fc
    smooth = top * (1 - fr) + bottom * fr
    stripes = 12 * np.sin(2 * np.pi * (np.arange(width)[None, :] * rng.uniform(0.05, 0.12)
                                       + np.arange(height)[:, None] * rng.uniform(0.02, 0.08)))
    grain = rng.normal(0, 8, size=(height, width, 1))
    return np.clip(smooth + stripes[..., None] + grain, 0, 255).astype(np.uint8)


def _draw(frame: np.ndarray, item: SceneObject, centre: np.ndarray) -> None:
    height, width = frame.shape[:2]
    cx, cy = float(centre[0]), float(centre[1])
    r = item.radius_px
    x0, x1 = max(int(np.floor(cx - r)), 0), min(int(np.ceil(cx + r)) + 1, width)
    y0, y1 = max(int(np.floor(cy - r)), 0), min(int(np.ceil(cy + r)) + 1, height)
    if x0 >= x1 or y0 >= y1:
        return
    dx = np.arange(x0, x1)[None, :] + 0.5 - cx
    dy = np.arange(y0, y1)[:, None] + 0.5 - cy
    if item.shape == "disc":
        mask = dx * dx + dy * dy <= r * r
    elif item.shape == "square":
        mask = (np.abs(dx) <= 0.8 * r) & (np.abs(dy) <= 0.8 * r)
    else:
        mask = np.abs(dx) + np.abs(dy) <= 1.15 * r
    frame[y0:y1, x0:x1][mask] = item.rgb
