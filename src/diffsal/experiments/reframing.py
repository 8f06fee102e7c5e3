"""``reframing``: does a 9:16 window cut from the 16:9 synthetic test videos keep the sounding object?

On the synthetic benchmark the looked-at object is known: the one that sounds (``meta/<db>/<video>.json``:
every object's centre and the sounding object per frame). For each test video of split 1 the study reframes
the video's mp4 to 9:16 (`diffsal.reframe.reframe`, default settings) with the maps of

- the audio-visual and the video-only tiny models of the ``modality`` study (trained, or reused, per seed;
  predicted as that study predicts them, so its predictions are reused too), and compares with
- the centre crop, and a window that follows the mean of all objects' centres (what a reframer that follows
  detected objects amounts to here: it sees every object, not which one sounds), smoothed by the same optimiser.

Per predictor: the fraction of frames whose window holds the sounding object's centre; for the models also that
of the per-frame optimum the path was planned from, the fraction of those frames that the smoothed window keeps,
and the mean absolute velocity and jerk (pixels per frame) of both paths, and the jerk of the windows as cropped
(the path rounded to whole pixels, whose 1-pixel steps add a jerk of their own). Writes ``OUT/reframing.md``, ``.json``
and ``reframing.png`` (frames with both models' windows drawn, and the crop).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from diffsal.data.fold_lists import fold_list_path, read_fold_list
from diffsal.experiments.common import AUDIO_VISUAL, Study, mean_spread, seeds_caption
from diffsal.experiments.figures import plot_frame_grid
from diffsal.experiments.modality import VIDEO_ONLY
from diffsal.experiments.steps import SPLIT, predict
from diffsal.io.atomic import atomic_output
from diffsal.io.video import VideoReader
from diffsal.reframe.path import smooth_path
from diffsal.reframe.plan import DEFAULT_MAX_DEVIATION_FRACTION, path_quality
from diffsal.reframe.render import draw_window
from diffsal.reframe.run import ReframeSettings, find_shots, reframe
from diffsal.reframe.window import crop_size
from diffsal.synth.benchmark import DATABASE

ASPECT = (9, 16)
MODELS = (AUDIO_VISUAL, VIDEO_ONLY)


def run(study: Study) -> Path:
    settings = study.settings
    models = study.train_all(MODELS)
    videos = read_fold_list(fold_list_path(study.data_root, DATABASE, "test", SPLIT)).videos
    truths = {video: json.loads((study.data_root / "meta" / DATABASE / f"{video}.json").read_text())
              for video in videos}
    results: dict[str, dict[int, dict[str, float]]] = {}
    first_seed_plans = {}
    for variant in MODELS:
        for seed in settings.seeds:
            name = f"{variant.key}-seed{seed}"
            predictions = study.out / "predictions" / name
            study.console.print(f"predicting {name}")
            predict(study.data_root, models[(variant.key, seed)], predictions, split=SPLIT, seed=0,
                    threads=settings.threads, overlay=False, uncertainty_video=False)
            plans = {video: reframe(_video_file(study, video), study.out / "reframing" / name / f"{video}.mp4",
                                    ReframeSettings(ASPECT), maps=predictions / DATABASE / video).plan
                     for video in videos}
            results.setdefault(variant.label, {})[seed] = _model_scores(plans, truths)
            if seed == settings.seeds[0]:
                first_seed_plans[variant.key] = plans[videos[0]]
    baselines = {"centre crop": _centre_crop, "window following the mean of all objects": _mean_of_objects}
    for label, positions_of in baselines.items():
        windows = {video: positions_of(study, video, truth) for video, truth in truths.items()}
        results[label] = {settings.seeds[0]: {"inside": _inside(windows, truths)}}
    _figure(study, videos[0], first_seed_plans)
    return _write(study, results)


def _figure(study: Study, video: str, plans: dict) -> None:
    """Frames of a test video with the audio-visual and the video-only model's 9:16 windows drawn, and the
    audio-visual crop: ``OUT/reframing.png``."""
    audio_visual = plans[AUDIO_VISUAL.key]
    width, height = audio_visual.window_size
    rows = []
    with VideoReader(_video_file(study, video)) as reader:
        for index in np.linspace(reader.num_frames * 0.1, reader.num_frames * 0.9, 3).astype(int):
            frame = reader.frame(int(index))
            x, y = (int(value) for value in audio_visual.positions[index])
            boxes = {key: (*(int(v) for v in plan.positions[index]), width, height) for key, plan in plans.items()}
            rows.append({"title": f"{video} frame {index + 1}",
                         "audio_visual": draw_window(frame.copy(), boxes[AUDIO_VISUAL.key]),
                         "video_only": draw_window(frame.copy(), boxes[VIDEO_ONLY.key]),
                         "crop": frame[y : y + height, x : x + width]})
    columns = (("audio-visual model's window", "audio_visual", None),
               ("video-only model's window", "video_only", None), ("9:16 crop (audio-visual)", "crop", None))
    plot_frame_grid(rows, columns, study.out / "reframing.png")
    study.console.print(f"figure: {study.out / 'reframing.png'}")


def _video_file(study: Study, video: str) -> Path:
    return study.data_root / "videos" / DATABASE / f"{video}.mp4"


def _sounding_centres(truth: dict) -> np.ndarray:
    """(N, 2) centre of the sounding object per frame (NaN where none sounds)."""
    centres = np.asarray(truth["object_centres_px"], dtype=np.float64)  # (N, objects, 2)
    sounding = np.asarray(truth["sounding_object"])
    out = np.full((len(sounding), 2), np.nan)
    valid = sounding >= 0
    out[valid] = centres[np.flatnonzero(valid), sounding[valid]]
    return out


def _holds(positions: np.ndarray, window: tuple[int, int], centres: np.ndarray) -> np.ndarray:
    """bool (N,): the window at `positions` (top-left x, y) holds the centre (frames without one: False)."""
    x, y = positions[:, 0], positions[:, 1]
    with np.errstate(invalid="ignore"):
        return ((centres[:, 0] >= x) & (centres[:, 0] <= x + window[0])
                & (centres[:, 1] >= y) & (centres[:, 1] <= y + window[1]))


def _inside(windows: dict[str, tuple[np.ndarray, tuple[int, int]]], truths: dict[str, dict]) -> float:
    held = [_holds(positions, window, _sounding_centres(truths[video])) for video, (positions, window) in windows.items()]
    counted = [~np.isnan(_sounding_centres(truths[video])[:, 0]) for video in windows]
    return float(np.concatenate(held)[np.concatenate(counted)].mean())


def _model_scores(plans: dict, truths: dict[str, dict]) -> dict[str, float]:
    smoothed = {video: (plan.positions.astype(np.float64), plan.window_size) for video, plan in plans.items()}
    raw = {video: (plan.raw_positions, plan.window_size) for video, plan in plans.items()}
    kept = []
    for video, plan in plans.items():
        centres = _sounding_centres(truths[video])
        raw_holds = _holds(plan.raw_positions, plan.window_size, centres)
        kept.append(_holds(plan.positions.astype(np.float64), plan.window_size, centres)[raw_holds])
    quality = [(path_quality(plan.path_positions, plan.shots), path_quality(plan.raw_positions, plan.shots),
                path_quality(plan.positions.astype(np.float64), plan.shots)) for plan in plans.values()]
    return {"inside": _inside(smoothed, truths), "raw_inside": _inside(raw, truths),
            "kept": float(np.concatenate(kept).mean()),
            "velocity": float(np.mean([q[0]["mean_abs_velocity"] for q in quality])),
            "raw_velocity": float(np.mean([q[1]["mean_abs_velocity"] for q in quality])),
            "jerk": float(np.mean([q[0]["mean_abs_jerk"] for q in quality])),
            "raw_jerk": float(np.mean([q[1]["mean_abs_jerk"] for q in quality])),
            "pixel_jerk": float(np.mean([q[2]["mean_abs_jerk"] for q in quality]))}


def _frame_and_window(truth: dict) -> tuple[tuple[int, int], tuple[int, int]]:
    width, height = truth["size"]
    return (width, height), crop_size(width, height, ASPECT)


def _centre_crop(study: Study, video: str, truth: dict) -> tuple[np.ndarray, tuple[int, int]]:
    (width, height), window = _frame_and_window(truth)
    positions = np.tile([(width - window[0]) / 2, (height - window[1]) / 2], (len(truth["sounding_object"]), 1))
    return positions, window


def _mean_of_objects(study: Study, video: str, truth: dict) -> tuple[np.ndarray, tuple[int, int]]:
    """The window centred on the mean of every object's centre, smoothed shot by shot as the models' paths are."""
    (width, height), window = _frame_and_window(truth)
    mean = np.asarray(truth["object_centres_px"], dtype=np.float64).mean(axis=1)  # (N, 2)
    positions = np.zeros_like(mean)
    for axis, (size, length) in enumerate(zip(window, (width, height))):
        raw = np.clip(mean[:, axis] - size / 2, 0, length - size)
        if length == size:
            continue
        for start, end in find_shots(_video_file(study, video)):
            positions[start:end, axis] = smooth_path(raw[start:end], 0.0, float(length - size),
                                                     max_deviation=DEFAULT_MAX_DEVIATION_FRACTION * size)
    return np.round(positions), window


COLUMNS = (("sounding object inside the window", "inside"), ("inside the per-frame optimum", "raw_inside"),
           ("kept where the optimum has it", "kept"), ("path velocity px/frame", "velocity"),
           ("optimum's velocity", "raw_velocity"), ("path jerk px/frame", "jerk"), ("optimum's jerk", "raw_jerk"),
           ("jerk of the whole-pixel windows", "pixel_jerk"))


def _write(study: Study, results: dict[str, dict[int, dict[str, float]]]) -> Path:
    settings = study.settings
    lines = [seeds_caption(settings) + "; 9:16 windows of the 16:9 test videos, every frame with a sounding object).",
             "", "| predictor | " + " | ".join(header for header, _ in COLUMNS) + " |",
             "|---" + "|---:" * len(COLUMNS) + "|"]
    for label, per_seed in results.items():
        cells = []
        for _, key in COLUMNS:
            values = [scores[key] for scores in per_seed.values() if key in scores]
            cells.append(mean_spread(values) if values else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    table = study.out / "reframing.md"
    with atomic_output(table) as temporary:
        temporary.write_text("\n".join(lines) + "\n")
    document = {"study": "reframing", "seeds": list(settings.seeds), "aspect": list(ASPECT),
                "rows": {label: {str(seed): scores for seed, scores in per_seed.items()}
                         for label, per_seed in results.items()}}
    with atomic_output(study.out / "reframing.json") as temporary:
        temporary.write_text(json.dumps(document, indent=2) + "\n")
    study.say("\n".join(lines))
    study.console.print(f"table: {table}")
    return table
