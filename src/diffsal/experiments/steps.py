"""The steps of the demo and the studies, as library calls that return result objects.

- `ensure_benchmark`: the synthetic benchmark, made once (`diffsal synth`);
- `train_model`: a recipe with overrides, resumed when the run folder has a checkpoint (`diffsal train`)
  -> `diffsal.training.trainer.TrainResult`;
- `predict`: a video, a folder of videos or a dataset split (`diffsal predict`)
  -> `diffsal.inference.runner.RunReport`, whose outcomes carry every video's summary;
- `evaluate_predictions`: a prediction folder or the centre prior scored under the STAViS protocol
  (`diffsal evaluate`), ``metrics.json`` and ``per_video.csv`` written -> `diffsal.evaluation.EvaluationResult`.

Each call runs the code of the command named beside it, with that command's defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from diffsal.data.fold_lists import fold_list_path
from diffsal.errors import DiffSalError
from diffsal.evaluation import EvaluationResult, EvaluationSettings, markdown_table, notes
from diffsal.evaluation.score import DatasetSelection, result_paths, score
from diffsal.inference.predict import SamplingSettings
from diffsal.inference.predict import predict as run_predict
from diffsal.inference.runner import OutputOptions, RunReport
from diffsal.inference.sources import InputSpec
from diffsal.metrics import METRIC_NAMES
from diffsal.runtime import TorchrunEnv
from diffsal.synth.benchmark import DATABASE, SynthConfig, generate_benchmark
from diffsal.training.trainer import TrainResult, train_recipe

SPLIT = 1
Say = Callable[[str], None]


class ExperimentError(DiffSalError):
    """A step of the demo or of a study failed; the message names the step."""


def _quiet(_: str) -> None:
    pass


def ensure_benchmark(data_root: Path, config: SynthConfig, say: Say = _quiet) -> None:
    """Generate the synthetic benchmark into `data_root` unless a complete one is already there."""
    if fold_list_path(data_root, DATABASE, "test", SPLIT).is_file():
        say(f"reusing {data_root}")
        return
    generate_benchmark(data_root, config, progress=lambda done, total, name: say(f"  [{done}/{total}] {name}"))


def train_model(recipe: Path, run_dir: Path, overrides: Sequence[str] = (), say: Say = _quiet) -> TrainResult:
    """Train `recipe` with ``out_dir=run_dir`` and `overrides` (``key=value``); a run folder with a last
    checkpoint is resumed (a finished run returns at once)."""
    resume = (run_dir / "checkpoints" / "last").exists()
    result = train_recipe(recipe, [f"out_dir={run_dir}", *overrides], resume=resume)
    for line in result.summary_lines():
        say(line)
    return result


def predict(source: Path, model_dir: Path, out: Path, *, split: int | None = None, steps: int | None = None,
            samples: int = 1, seed: int = 0, threads: int | None = None, overlay: bool = True,
            uncertainty_video: bool = True, overwrite: bool = False, progress: bool = False) -> RunReport:
    """Predict `source` (a video file, a folder of videos or a dataset root, then `split`'s test videos) with
    the model folder `model_dir` into `out` (`diffsal.inference.predict`, with its defaults otherwise); complete
    outputs are reused unless `overwrite`. Raises ExperimentError when a video is left incomplete."""
    if threads is not None:
        torch.set_num_threads(threads)
    result = run_predict(source, model_dir, out, spec=InputSpec(split=None if split is None else str(split)),
                         sampling=SamplingSettings(steps=steps, samples=samples, seed=seed),
                         outputs=OutputOptions(overlay=overlay, uncertainty_video=uncertainty_video),
                         overwrite=overwrite, place=TorchrunEnv(), progress=progress)
    report = result.report
    if report.exit_code != 0:
        problems = "; ".join(f"{key}: {problem}" for key, problem in report.incomplete.items())
        raise ExperimentError(f"prediction of {source} into {out} left videos incomplete: {problems}")
    return report


def seconds_per_frame(report: RunReport) -> float:
    """Seconds of map prediction (model time, no rendering) per frame over the run's videos, as their
    summaries record it (a reused output counts with the time it was predicted in)."""
    summaries = [outcome.summary for outcome in report.all_outcomes if outcome.summary is not None]
    frames = sum(summary["frames"] for summary in summaries)
    return sum(summary["time"]["predict_s"] for summary in summaries) / max(frames, 1)


def evaluate_predictions(data_root: Path, source: str | Path, out: Path, *, metrics: Sequence[str] = METRIC_NAMES,
                         workers: int = 2, split: int = SPLIT, say: Say = _quiet) -> EvaluationResult:
    """Score `source` (a prediction folder or ``center-prior``) on `split`'s test videos of `data_root` with
    the STAViS protocol (`diffsal.evaluation.score`); writes ``out/metrics.json`` and ``out/per_video.csv``."""
    result = score(data_root, source, out, selection=DatasetSelection(split=str(split)),
                   settings=EvaluationSettings(metrics=tuple(metrics), workers=workers), say=say)
    say(markdown_table(result))
    say("")
    say(notes(result))
    say(f"wrote {' and '.join(map(str, result_paths(out)))}")
    return result


def database_scores(result: EvaluationResult, database: str = DATABASE) -> dict[str, float]:
    """The mean of every metric over `database`'s videos (NaN where no video has a score)."""
    scores = result.databases[database].to_dict()["scores"]
    return {name: math.nan if value is None else value for name, value in scores.items()}
