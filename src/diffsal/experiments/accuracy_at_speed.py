"""``accuracy-at-speed``: K maps per clip (``--frames-out``, default 8) vs K = 1, and bf16 vs fp32.

1. Trains the tiny preset with K = 1 and with each K of ``frames_out`` per seed (same data and training budget;
   ``clip_frames`` sets every model's frames per clip, e.g. 16 to compare K = 1, 8 and 16 as for the paper
   preset).
2. Predicts split 1's test videos with each model (fp32, seed 0, ``threads`` torch threads; predicted again
   every run, so that the time is this run's) and scores them (STAViS protocol, every metric), timing the
   whole prediction (model loading, maps, files) and, from the videos' summaries, the prediction pass alone.
3. bf16 vs fp32: maps of the first ``bf16_videos`` test videos predicted by each model in both precisions
   (the `Predictor` API, same seed), and the CC between the bf16 and the fp32 map of every frame.
Writes ``OUT/accuracy-at-speed.md`` and ``.json``; the numbers of docs/results.md's "Accuracy at speed".
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from diffsal.data.fold_lists import read_fold_list
from diffsal.data.layout import StavisLayout
from diffsal.experiments.common import Column, Row, Study, Variant, seeds_caption
from diffsal.experiments.steps import SPLIT, predict, seconds_per_frame
from diffsal.inference.predictor import Predictor
from diffsal.io.audio import read_audio
from diffsal.data.layout import STAVIS_FRAME_PATTERN
from diffsal.io.frame_folder import FrameFolder
from diffsal.metrics import METRIC_NAMES, cc
from diffsal.synth.benchmark import DATABASE

COLUMNS = (Column("`diffsal predict` frames/s", "frames_per_s", 1),
           Column("prediction pass frames/s", "pass_frames_per_s", 1),
           Column("bf16 vs fp32 map CC, mean", "bf16_mean_cc", 4),
           Column("bf16 vs fp32 map CC, min", "bf16_min_cc", 4),
           Column("frames compared", "bf16_frames", 0))


def variants(frames_out: tuple[int, ...], clip_frames: int | None = None) -> tuple[Variant, ...]:
    clip = () if clip_frames is None else (f"model.overrides.num_frames={clip_frames}",)
    clip_label = "" if clip_frames is None else f", {clip_frames}-frame clips"
    return tuple(Variant(f"k{k}" + ("" if clip_frames is None else f"-clip{clip_frames}"),
                         f"DiffSal tiny{clip_label}, K = {k}", (*clip, f"model.overrides.frames_out={k}"))
                 for k in dict.fromkeys((1, *frames_out)))


def run(study: Study) -> Path:
    settings = study.settings
    chosen = variants(settings.frames_out, settings.clip_frames)
    models = study.train_all(chosen)
    rows = []
    for variant in chosen:
        row = Row(variant.label, study.train_command(variant))
        for seed in settings.seeds:
            model = models[(variant.key, seed)]
            row.per_seed[seed] = scores = _timed_scores(study, model, f"{variant.key}-seed{seed}")
            if settings.bf16_videos > 0:
                agreement = bf16_agreement(study.data_root, model, settings.bf16_videos)
                scores.update({f"bf16_{name}": value for name, value in agreement.items()})
        rows.append(row)
    mean_cc = [np.mean([scores["CC"] for scores in row.per_seed.values()]) for row in rows]
    differences = ", ".join(f"{variant.label.rsplit(', ', 1)[-1]}: {cc - mean_cc[0]:+.3f}"
                            for variant, cc in zip(chosen[1:], mean_cc[1:]))
    caption = (seeds_caption(settings) + f"; frames/s: the whole prediction of the test videos, "
               f"{settings.threads} thread(s); CC minus that of K = 1, {differences}).")
    return study.write(rows, caption, columns=COLUMNS,
                       extra={"frames_out": list(settings.frames_out), "clip_frames": settings.clip_frames})


def _timed_scores(study: Study, model: Path, name: str) -> dict[str, float]:
    predictions = study.out / "predictions" / name
    study.console.print(f"predicting {name}")
    started = time.perf_counter()
    report = predict(study.data_root, model, predictions, split=SPLIT, seed=0, threads=study.settings.threads,
                     overlay=False, overwrite=True)
    predict_s = time.perf_counter() - started
    frames = sum(outcome.frames for outcome in report.all_outcomes)
    scores = study.score(predictions, name, metrics=METRIC_NAMES, workers=1)
    return {**scores, "predict_s": predict_s, "frames": frames, "frames_per_s": frames / predict_s,
            "pass_frames_per_s": 1 / seconds_per_frame(report)}


def bf16_agreement(data_root: Path, model: Path, videos: int) -> dict[str, float]:
    """CC between the bf16 and the fp32 map of every frame of the first `videos` test videos."""
    layout = StavisLayout(data_root)
    entries = read_fold_list(layout.fold_list(DATABASE, "test", SPLIT)).entries[:videos]
    maps = {}
    seconds = {}
    for precision in ("fp32", "bf16"):
        predictor = Predictor.from_pretrained(model, device="cpu", seed=0, precision=precision)
        rate = predictor.preprocessing.audio.sample_rate_hz
        started = time.perf_counter()
        maps[precision] = []
        for entry in entries:
            source = FrameFolder(layout.frames_dir(DATABASE, entry.video), entry.fps, STAVIS_FRAME_PATTERN)
            track = read_audio(layout.wav_path(DATABASE, entry.video), rate, mono=True)
            maps[precision].extend(frame.mean for frame in predictor.iter_video(source, track))
        seconds[precision] = time.perf_counter() - started
    correlations = np.array([cc(full, half) for full, half in zip(maps["fp32"], maps["bf16"])])
    return {"frames": len(correlations), "mean_cc": float(correlations.mean()), "min_cc": float(correlations.min()),
            "fp32_s": seconds["fp32"], "bf16_s": seconds["bf16"]}
