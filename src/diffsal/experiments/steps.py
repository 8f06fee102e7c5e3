"""The steps of the demo and the studies, as library calls that return result objects.

- `ensure_benchmark`: the synthetic benchmark, made once (`diffsal synth`);
- `train_model`: a recipe with overrides, resumed when the run folder has a checkpoint (`diffsal train`)
  -> `diffsal.engine.trainer.TrainResult`;
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
from diffsal.engine.config import load_train_config
from diffsal.engine.trainer import TrainResult, train
from diffsal.errors import DiffSalError
from diffsal.evaluation import (
    EvaluationResult,
    EvaluationSettings,
    evaluate,
    load_benchmark,
    markdown_table,
    notes,
    prediction_source,
    write_results,
)
from diffsal.evaluation.allocator import keep_freed_memory
from diffsal.evaluation.report import RESULT_FILES
from diffsal.inference.outputs import earlier_keys, file_sha256
from diffsal.inference.predictor import Predictor
from diffsal.inference.runner import OutputOptions, PredictionRun, RunReport
from diffsal.inference.sharding import Shard
from diffsal.inference.sources import InputSpec, keep_earlier_keys, resolve_inputs
from diffsal.io.paths import check_output_folder
from diffsal.metrics import METRIC_NAMES
from diffsal.models.saved_model import WEIGHTS_NAME
from diffsal.synth.benchmark import DATABASE, SynthConfig, generate_benchmark

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
    config = load_train_config(recipe, [f"out_dir={run_dir}", *overrides])
    result = train(config, resume=resume)
    if result.best_checkpoint is not None:
        say(f"best checkpoint (validation CC {result.best_cc:.4f} at step {result.best_step}): {result.best_checkpoint}")
    say(f"last checkpoint (step {result.steps}): {result.last_checkpoint}")
    say(f"run folder: {result.run_dir}  ({result.wall_s:.0f} s)")
    return result


def predict(source: Path, model_dir: Path, out: Path, *, split: int | None = None, steps: int | None = None,
            samples: int = 1, seed: int = 0, threads: int | None = None, overlay: bool = True,
            uncertainty_video: bool = True, overwrite: bool = False, progress: bool = False) -> RunReport:
    """Predict `source` (a video file, a folder of videos or a dataset root, then `split`'s test videos) with
    the model folder `model_dir` into `out`, as `diffsal predict` does; complete outputs are reused unless
    `overwrite`. Raises ExperimentError when a video is left incomplete."""
    if threads is not None:
        torch.set_num_threads(threads)
    shard = Shard()
    kind, videos = resolve_inputs(source, InputSpec(split=None if split is None else str(split)))
    out_root = check_output_folder(out)
    if kind in ("file", "folder"):
        videos = keep_earlier_keys(videos, earlier_keys(out_root))
    predictor = Predictor.from_pretrained(model_dir, device=shard.device("auto"), steps=steps, samples=samples,
                                          seed=seed)
    model_info = {"path": str(Path(model_dir).resolve()), "sha256": file_sha256(Path(model_dir) / WEIGHTS_NAME)}
    options = OutputOptions(overlay=overlay, uncertainty_video=uncertainty_video)
    report = PredictionRun(predictor, videos, out_root, model_info=model_info, options=options, overwrite=overwrite,
                           shard=shard, progress=progress).run()
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
    the STAViS protocol, as `diffsal evaluate` does; writes ``out/metrics.json`` and ``out/per_video.csv``."""
    check_output_folder(out, files=RESULT_FILES)
    predictions = prediction_source(str(source))
    benchmark = load_benchmark(data_root, split=str(split), per_split=predictions.uses_split)
    keep_freed_memory()
    result = evaluate(benchmark, predictions, EvaluationSettings(metrics=tuple(metrics), workers=workers))
    json_path, csv_path = write_results(result, out)
    say(markdown_table(result))
    say("")
    say(notes(result))
    say(f"wrote {json_path} and {csv_path}")
    return result


def database_scores(result: EvaluationResult, database: str = DATABASE) -> dict[str, float]:
    """The mean of every metric over `database`'s videos (NaN where no video has a score)."""
    scores = result.databases[database].to_dict()["scores"]
    return {name: math.nan if value is None else value for name, value in scores.items()}
