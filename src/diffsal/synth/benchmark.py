"""The synthetic audio-visual benchmark: drawing one video's content, the splits, the whole run (the
configuration and the video type are in `diffsal.synth.config`).

Every video is drawn from its own random streams, seeded by (seed, video index) for the pictures
and (sound seed, video index) for the sound, so video 3 is the same whether 4 or 50 videos are
generated, and a different sound seed re-draws who sounds while keeping every frame.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffsal.errors import InputError
from diffsal.io.paths import check_output_folder
from diffsal.seeds import SPLIT_STREAM
from diffsal.synth.audio import make_schedule, synthesize
from diffsal.synth.challenge_writer import write_challenge_split, write_challenge_video
from diffsal.synth.config import DATABASE, NUM_SPLITS, SynthConfig, SyntheticVideo
from diffsal.synth.observers import simulate_gaze
from diffsal.synth.scene import make_scene
from diffsal.synth.writer import (benchmark_info, benchmark_info_path, write_benchmark_info, write_fold_lists,
                                  write_synthetic_video)

__all__ = ["DATABASE", "NUM_SPLITS", "BenchmarkSummary", "SynthConfig", "SyntheticVideo", "generate_benchmark",
           "generate_video", "make_splits"]


def _check_earlier_benchmark(root: Path, config: SynthConfig) -> None:
    """InputError when `root` holds `config.database` generated with other settings; a complete or interrupted
    run with the same settings is generated again (the same files)."""
    path = benchmark_info_path(root, config)
    if not path.exists():
        return
    wanted = json.loads(json.dumps(benchmark_info(config, make_splits(config))))
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: unreadable ({error}); {root} holds a database {config.database!r} that this "
                         "command did not write: choose another --out or --db") from None
    if earlier == wanted:
        return
    changed = sorted(key for key in set(wanted) | set(earlier if isinstance(earlier, dict) else {})
                     if not isinstance(earlier, dict) or earlier.get(key) != wanted.get(key))
    raise InputError(f"{root} holds the synthetic database {config.database!r} generated with other settings "
                     f"({', '.join(changed[:6])}); choose another --out (or --db), or delete it first")


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
    order = np.random.default_rng(np.random.SeedSequence([config.seed, SPLIT_STREAM])).permutation(len(names))
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
    """Generate and write the whole benchmark under `root` (STAViS layout, mp4s, fold lists; or the challenge
    layout with ``config.layout = "challenge"``: `diffsal.synth.challenge_writer`).

    Raises:
        InputError: `root` cannot be written, or holds this database generated with other settings (checked
            before anything is written: a benchmark is never mixed with or replaced by another).
    """
    root = check_output_folder(root)
    _check_earlier_benchmark(root, config)
    started = time.perf_counter()
    names = []
    splits = make_splits(config)
    train, test = splits[1]
    for index in range(config.num_videos):
        video = generate_video(config, index)
        if config.layout == "challenge":
            write_challenge_video(root, config, video, "train" if video.name in train else "test")
        else:
            write_synthetic_video(root, config, video)
        names.append(video.name)
        if progress is not None:
            progress(index + 1, config.num_videos, video.name)
    if config.layout == "challenge":
        write_challenge_split(root, config, train, test)
    else:
        write_fold_lists(root, config, splits)
    write_benchmark_info(root, config, splits)
    return BenchmarkSummary(root, config.database, names, splits, time.perf_counter() - started)
