"""The demo pipeline: synthetic data -> tiny audio-visual model -> scores vs the centre prior -> report.

Every step is a library call (`diffsal.experiments.steps`: the code of `diffsal synth`, `train`, `predict`,
`evaluate`) whose result the next steps use, and every step is resumable: rerunning the demo reuses what is
complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from diffsal.data.annotations import read_saliency_map
from diffsal.data.fold_lists import fold_list_path, read_fold_list
from diffsal.data.layout import StavisLayout
from diffsal.demo.report import write_report
from diffsal.errors import InputError
from diffsal.experiments.figures import DEMO_COLUMNS, plot_frame_grid, plot_training_loss
from diffsal.experiments.steps import (SPLIT, database_scores, ensure_benchmark, evaluate_predictions, predict,
                                       train_model)
from diffsal.predictions.folder import MAP_PATTERN, UNCERTAINTY_DIR, read_std_png
from diffsal.io.paths import check_output_folder
from diffsal.io.video import VideoReader
from diffsal.synth.benchmark import DATABASE, SynthConfig


@dataclass
class DemoSettings:
    out_dir: Path = Path("runs/demo")
    recipe: Path = Path("configs/synthetic_tiny.yaml")
    videos: int = 50
    seconds: float = 8.0  # length of each synthetic video
    seed: int = 0
    train_steps: int | None = None  # None = the recipe's
    sampling_steps: int | None = None  # DDIM steps for the test predictions; None = the model's
    showcase_samples: int = 4


def run_demo(settings: DemoSettings, console: Console | None = None) -> Path:
    """Run every step; returns the path of ``report.md``."""
    console = console or Console(stderr=True)
    out = check_output_folder(settings.out_dir)
    if not settings.recipe.is_file():
        raise InputError(f"{settings.recipe}: recipe not found (run the demo from the repository root or pass --recipe)")
    timings: dict[str, float] = {}
    data_root = out / "data"

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    def step(name: str) -> float:
        console.rule(f"[bold]{name}")
        return time.perf_counter()

    started = step("1/5 synthetic audio-visual benchmark")
    ensure_benchmark(data_root, SynthConfig(num_videos=settings.videos, seed=settings.seed, seconds=settings.seconds),
                     console.print)
    timings["data"] = time.perf_counter() - started

    started = step("2/5 training the tiny audio-visual model")
    overrides = [f"data.root={data_root}", f"train.seed={settings.seed}"]
    if settings.train_steps is not None:
        overrides.append(f"train.max_steps={settings.train_steps}")
    trained = train_model(settings.recipe, out / "train", overrides, say=say)
    run_dir = trained.run_dir
    model_dir = run_dir / "checkpoints" / "best"
    timings["train"] = time.perf_counter() - started

    started = step("3/5 predicting the held-out test videos (split 1)")
    predictions = out / "predictions"
    sampling = {"steps": settings.sampling_steps or None, "seed": settings.seed}
    predict(data_root, model_dir, predictions, split=SPLIT, overlay=False, **sampling)
    timings["predict"] = time.perf_counter() - started

    started = step("4/5 scoring: trained model vs centre prior")
    scores = {}
    for name, source in (("DiffSal tiny (audio-visual)", predictions), ("centre prior", "center-prior")):
        evaluation = out / ("evaluation" if source != "center-prior" else "evaluation_center_prior")
        result = evaluate_predictions(data_root, source, evaluation, say=say)
        scores[name] = database_scores(result)
        sauc_variant = result.other_maps["variant"]
    timings["evaluate"] = time.perf_counter() - started

    started = step("5/5 one test video with sound, uncertainty and figures")
    video_name = read_fold_list(fold_list_path(data_root, DATABASE, "test", SPLIT)).videos[0]
    video_path = data_root / "videos" / DATABASE / f"{video_name}.mp4"
    showcase = out / "showcase"
    predict(video_path, model_dir, showcase, samples=settings.showcase_samples, **sampling)
    plot_training_loss(run_dir / "log.jsonl", out / "training_loss.png")
    plot_frame_grid(_grid_rows(data_root, video_name, video_path, showcase / video_name), DEMO_COLUMNS,
                    out / "frames.png")
    timings["showcase"] = time.perf_counter() - started

    report = write_report(out, scores=scores, sauc_variant=sauc_variant, timings=timings, video_name=video_name,
                          overlay=showcase / video_name / "overlay.mp4", train_log=run_dir / "log.jsonl")
    console.rule("[bold]done")
    console.print(f"report:   {report}")
    console.print(f"overlay:  {showcase / video_name / 'overlay.mp4'}")
    console.print(f"model:    {model_dir}")
    return report


def _grid_rows(data_root: Path, video_name: str, video_path: Path, predicted: Path, count: int = 4) -> list[dict]:
    """Evenly spaced frames of the showcase video with their ground truth, prediction and uncertainty."""
    layout = StavisLayout(data_root)
    with VideoReader(video_path) as video:
        indices = np.linspace(video.num_frames * 0.1, video.num_frames * 0.9, count).astype(int)
        rows = []
        for index in indices:
            number = int(index) + 1
            rows.append({
                "title": f"frame {number}",
                "frame": video.frame(int(index)),
                "truth": read_saliency_map(layout.eye_map_path(DATABASE, video_name, int(index))),
                "prediction": read_saliency_map(predicted / MAP_PATTERN.format(number)),
                "uncertainty": read_std_png(predicted / UNCERTAINTY_DIR / MAP_PATTERN.format(number)),
            })
    return rows
