"""The synthetic audio-visual benchmark: configuration, one video's content, the splits, the whole run.

Every video is drawn from its own random streams, seeded by (seed, video index) for the pictures
and (sound seed, video index) for the sound, so video 3 is the same whether 4 or 50 videos are
generated, and a different sound seed re-draws who sounds while keeping every frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffsal.errors import InputError
from diffsal.io.paths import check_output_folder
from diffsal.synth.audio import SoundSchedule, make_schedule, synthesize
from diffsal.synth.observers import ObserverModel, simulate_gaze
from diffsal.synth.scene import PALETTE, Scene, make_scene
from diffsal.synth.writer import write_benchmark_info, write_fold_lists, write_synthetic_video

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


def generate_video(config: SynthConfig, index: int) -> SyntheticVideo:
    """Draw video `index` of the benchmark described by `config`."""
    picture_seed = np.random.SeedSequence([config.seed, index, 0])
    sound_seed = np.random.SeedSequence([config.seed if config.sound_seed is None else config.sound_seed, index, 1])
    scene_rng, observer_rng = (np.random.default_rng(child) for child in picture_seed.spawn(2))
    schedule_rng, audio_rng = (np.random.default_rng(child) for child in sound_seed.spawn(2))
    low, high = config.objects
    scene = make_scene(scene_rng, config.width, config.height, int(scene_rng.integers(low, high + 1)), config.distractors)
    times_s = np.arange(config.num_frames) / config.fps
    duration_s = config.num_frames / config.fps
    schedule = make_schedule(schedule_rng, len(scene.objects), duration_s)
    colours = [item.colour for item in scene.objects]
    audio = synthesize(audio_rng, schedule, colours, duration_s, snr_db=config.snr_db)
    positions = scene.positions(times_s)
    radii = np.array([item.radius_px for item in scene.objects])
    gaze, targets = simulate_gaze(observer_rng, config.observer_model, schedule, positions, radii, times_s,
                                  (config.width, config.height))
    return SyntheticVideo(config.video_name(index), index, config.fps, scene, schedule, audio, gaze, targets,
                          schedule.at(times_s), positions)


def make_splits(config: SynthConfig) -> dict[int, tuple[list[str], list[str]]]:
    """Split number -> (train names, test names), seeded by `config.seed`.

    Each split tests a block of round(test_fraction * N) videos of one seeded permutation; the
    blocks of splits 1, 2, 3 follow each other (wrapping around), so they are disjoint unless
    3 * test_fraction > 1.
    """
    names = [config.video_name(index) for index in range(config.num_videos)]
    order = np.random.default_rng(np.random.SeedSequence([config.seed, 2**31 - 1])).permutation(len(names))
    num_test = min(max(1, int(round(config.test_fraction * len(names)))), len(names) - 1)
    splits = {}
    for split in range(1, NUM_SPLITS + 1):
        block = {int(order[((split - 1) * num_test + offset) % len(names)]) for offset in range(num_test)}
        test = [name for position, name in enumerate(names) if position in block]
        train = [name for position, name in enumerate(names) if position not in block]
        splits[split] = (train, test)
    return splits


@dataclass
class BenchmarkSummary:
    root: Path
    database: str
    videos: list[str]
    splits: dict[int, tuple[list[str], list[str]]]
    seconds: float


def generate_benchmark(
    root: str | Path,
    config: SynthConfig,
    progress: Callable[[int, int, str], None] | None = None,
) -> BenchmarkSummary:
    """Generate and write the whole benchmark under `root` (STAViS layout, mp4s, fold lists)."""
    root = check_output_folder(root)
    started = time.perf_counter()
    names = []
    for index in range(config.num_videos):
        video = generate_video(config, index)
        write_synthetic_video(root, config, video)
        names.append(video.name)
        if progress is not None:
            progress(index + 1, config.num_videos, video.name)
    splits = make_splits(config)
    write_fold_lists(root, config, splits)
    write_benchmark_info(root, config, splits)
    return BenchmarkSummary(root, config.database, names, splits, time.perf_counter() - started)
