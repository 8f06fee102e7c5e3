"""What the synthetic benchmark is made of: its configuration (`SynthConfig`) and one generated
video before it is written (`SyntheticVideo`). Shared by `diffsal.synth.benchmark` (which draws
videos) and `diffsal.synth.writer` (which writes them), so neither imports the other's types."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffsal.errors import InputError
from diffsal.synth.audio import SoundSchedule
from diffsal.synth.observers import ObserverModel
from diffsal.synth.scene import PALETTE, Scene

DATABASE = "Synthetic"
NUM_SPLITS = 3


@dataclass(frozen=True)
class SynthConfig:
    """What `diffsal synth` generates (CLI flags in brackets).

    Attributes:
        num_videos: number of videos [--videos].
        seed: seed of the pictures, the observers and the splits [--seed].
        sound_seed: seed of the sound schedule and waveform; None = `seed` [--sound-seed].
        width / height: frame size in pixels [--size WxH].
        fps: frame rate [--fps]; seconds: duration of each video [--seconds].
        num_observers: simulated viewers per video [--observers].
        objects: (min, max) coloured objects per scene, drawn uniformly [--objects].
        distractors: grey moving shapes per scene that never sound and are never looked at.
        snr_db: tone-to-noise ratio of the sound track.
        test_fraction: share of the videos in each split's test list; the three test lists are
            disjoint while 3 * test_fraction <= 1 [--test-fraction].
        database: database name in the STAViS layout [--db].
        layout: "stavis" (with mp4s, fold lists) or "challenge" (the AIM / NTIRE challenge layout: mp4s, 10-bit
            map videos, fixation lists, a split file) [--layout].
        observer_model: reaction delays and looking probabilities (default `ObserverModel()`).
    """

    num_videos: int = 50
    seed: int = 0
    sound_seed: int | None = None
    width: int = 192
    height: int = 112
    fps: float = 25.0
    seconds: float = 8.0
    num_observers: int = 12
    objects: tuple[int, int] = (3, 4)
    distractors: int = 2
    snr_db: float = 10.0
    test_fraction: float = 0.2
    database: str = DATABASE
    layout: str = "stavis"
    observer_model: ObserverModel | None = None  # None: the default model with `num_observers`

    def __post_init__(self) -> None:
        problems = []
        if self.observer_model is None:
            object.__setattr__(self, "observer_model", ObserverModel(num_observers=max(self.num_observers, 1)))
        elif self.observer_model.num_observers != self.num_observers:
            problems.append(f"observer_model has {self.observer_model.num_observers} observers but num_observers is {self.num_observers}")
        if self.num_videos < 2:
            problems.append(f"--videos must be >= 2 (one for training, one for testing), got {self.num_videos}")
        if self.width < 32 or self.height < 32:
            problems.append(f"--size must be at least 32x32, got {self.width}x{self.height}")
        if not self.fps > 0:
            problems.append(f"--fps must be positive, got {self.fps}")
        if not self.seconds > 0 or self.seconds * self.fps < 1:
            problems.append(f"--seconds must give at least one frame, got {self.seconds}")
        low, high = self.objects
        if not 2 <= low <= high <= len(PALETTE):
            problems.append(f"--objects must be MIN,MAX with 2 <= MIN <= MAX <= {len(PALETTE)}, got {low},{high}")
        if self.num_observers < 1:
            problems.append(f"--observers must be >= 1, got {self.num_observers}")
        if not 0 < self.test_fraction < 1:
            problems.append(f"--test-fraction must be in (0, 1), got {self.test_fraction}")
        if not self.database or any(character in self.database for character in "/\\ "):
            problems.append(f"--db must be a name without '/', '\\\\' or spaces, got {self.database!r}")
        if self.layout not in LAYOUTS:
            problems.append(f"--layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if problems:
            raise InputError("; ".join(problems))

    @property
    def num_frames(self) -> int:
        return int(round(self.seconds * self.fps))

    @property
    def sigma_px(self) -> float:
        """Blur of the continuous maps: 1/30 of the frame width."""
        return self.width / 30.0

    def video_name(self, index: int) -> str:
        return f"synth{index:04d}"


LAYOUTS = ("stavis", "challenge")


@dataclass
class SyntheticVideo:
    """One generated video, before it is written.

    Attributes:
        audio: float32 `(num_samples,)` at `SAMPLE_RATE_HZ`.
        gaze: int16 `(num_frames, num_observers, 2)` pixel (x, y) per observer.
        targets: int8 `(num_frames, num_observers)` object looked at (-1: centre).
        sounding: `(num_frames,)` object sounding at each frame's time.
    """

    name: str
    index: int
    fps: float
    scene: Scene
    schedule: SoundSchedule
    audio: np.ndarray
    gaze: np.ndarray
    targets: np.ndarray
    sounding: np.ndarray
    positions: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.sounding)

    def time_of(self, frame: int) -> float:
        return frame / self.fps
