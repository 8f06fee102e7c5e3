"""What the studies share: their settings, the variants they train, the steps (train, predict and score,
resumable) and the table with mean ± half the range over training seeds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console

from diffsal.errors import InputError
from diffsal.experiments.steps import (
    SPLIT,
    database_scores,
    ensure_benchmark,
    evaluate_predictions,
    predict,
    seconds_per_frame,
    train_model,
)
from diffsal.io.atomic import atomic_output
from diffsal.io.paths import check_output_folder
from diffsal.synth.benchmark import DATABASE, SynthConfig

METRICS = ("CC", "NSS", "AUC-J", "SIM", "sAUC", "KLD")


@dataclass(frozen=True)
class Variant:
    """A model trained from the recipe with these overrides."""

    key: str
    label: str
    overrides: tuple[str, ...] = ()


AUDIO_VISUAL = Variant("audio-visual", "DiffSal tiny, audio-visual (MIM)")


@dataclass
class StudySettings:
    study: str
    out_dir: Path = Path("runs/ablations")
    recipe: Path = Path("configs/synthetic_tiny.yaml")
    seeds: tuple[int, ...] = (0, 1)
    videos: int = 50
    seconds: float = 8.0
    data_seed: int = 0
    train_steps: int | None = None  # None = the recipe's
    steps: tuple[int, ...] = (1, 2, 4, 8)  # sampling study: DDIM steps
    samples: tuple[int, ...] = (1, 4)  # sampling study: diffusion samples per frame
    threads: int = 1  # torch threads for prediction, so that times compare across rows
    figure_frames: int = 4  # modality study
    frames_out: tuple[int, ...] = (8,)  # accuracy at speed: K of the multi-frame models (each against K = 1)
    clip_frames: int | None = None  # accuracy at speed: frames per clip (None: the recipe's model's)
    bf16_videos: int = 3  # accuracy at speed: test videos of the bf16 vs fp32 comparison (0: none)


@dataclass
class Row:
    """One table row: its label and, per seed, the scores (and timings)."""

    label: str
    command: str
    per_seed: dict[int, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    """A table column after the metrics: a value of every seed's scores, as mean ± half range."""

    header: str
    key: str
    decimals: int = 3


class Study:
    """The folder of a study (``OUT/``: ``data/``, ``train/``, ``predictions/``, ``evaluation/``) and its steps."""

    def __init__(self, settings: StudySettings, console: Console) -> None:
        if not settings.seeds:
            raise InputError("at least one training seed is needed")
        if not settings.recipe.is_file():
            raise InputError(f"{settings.recipe}: recipe not found (run from the repository root or pass --recipe)")
        self.settings = settings
        self.console = console
        self.out = check_output_folder(settings.out_dir)
        self.data_root = self.out / "data"

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def make_data(self) -> None:
        settings = self.settings
        ensure_benchmark(self.data_root, SynthConfig(num_videos=settings.videos, seed=settings.data_seed,
                                                     seconds=settings.seconds), self.console.print)

    def train(self, variant: Variant, seed: int) -> Path:
        """The best checkpoint of `variant` trained with `seed` (a finished training is reused)."""
        overrides = [f"data.root={self.data_root}", f"train.seed={seed}", *variant.overrides]
        if self.settings.train_steps is not None:
            overrides.append(f"train.max_steps={self.settings.train_steps}")
        self.console.rule(f"training {variant.key}, seed {seed}")
        result = train_model(self.settings.recipe, self.out / "train" / f"{variant.key}-seed{seed}", overrides,
                             say=self.say)
        return result.run_dir / "checkpoints" / "best"

    def train_all(self, variants: Sequence[Variant]) -> dict[tuple[str, int], Path]:
        return {(variant.key, seed): self.train(variant, seed) for variant in variants for seed in self.settings.seeds}

    def predict_and_score(self, model_dir: Path, name: str, *, steps: int | None = None,
                          samples: int = 1) -> dict[str, float]:
        """Predict the test split with `model_dir`, score it; the scores plus `s_per_frame` of the prediction."""
        self.console.print(f"predicting {name}")
        report = predict(self.data_root, model_dir, self.out / "predictions" / name, split=SPLIT, steps=steps,
                         samples=samples, seed=0, threads=self.settings.threads, overlay=False,
                         uncertainty_video=False)
        scores = self.score(self.out / "predictions" / name, name)
        scores["s_per_frame"] = seconds_per_frame(report)
        return scores

    def score(self, source: str | Path, name: str, metrics: Sequence[str] = METRICS,
              workers: int = 2) -> dict[str, float]:
        """The scores of `source` on the test split; those of an earlier run of the study when written."""
        evaluation = self.out / "evaluation" / name
        written = evaluation / "metrics.json"
        if written.is_file():  # an earlier run's: reused, as the trainings and predictions are
            return dict(json.loads(written.read_text())["databases"][DATABASE]["scores"])
        result = evaluate_predictions(self.data_root, source, evaluation, metrics=metrics, workers=workers)
        return database_scores(result)

    def train_command(self, variant: Variant) -> str:
        overrides = " ".join(variant.overrides)
        return f"diffsal train --config {self.settings.recipe} train.seed=SEED {overrides}".strip()

    def write(self, rows: list[Row], caption: str, *, metrics: Sequence[str] = METRICS,
              columns: Sequence[Column] = (), extra: dict | None = None) -> Path:
        """``OUT/<study>.md`` (the table, also printed) and ``OUT/<study>.json`` (every seed's scores)."""
        settings = self.settings
        header = ["predictor", *metrics, *(column.header for column in columns), "CC per seed"]
        lines = [caption, "", "| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
        for row in rows:
            scores = list(row.per_seed.values())
            cells = [mean_spread([seed[name] for seed in scores]) for name in metrics]
            for column in columns:
                values = [seed[column.key] for seed in scores if column.key in seed]
                cells.append(mean_spread(values, decimals=column.decimals) if values else "-")
            cells.append(" / ".join(f"{seed['CC']:.3f}" for seed in scores))
            lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
        table = self.out / f"{settings.study}.md"
        with atomic_output(table) as temporary:
            temporary.write_text("\n".join(lines) + "\n")
        document = {"study": settings.study, "seeds": list(settings.seeds), "recipe": str(settings.recipe),
                    "train_steps": settings.train_steps, **(extra or {}),
                    "rows": [{"label": row.label, "train_command": row.command,
                              "per_seed": {str(seed): scores for seed, scores in row.per_seed.items()}} for row in rows]}
        with atomic_output(self.out / f"{settings.study}.json") as temporary:
            temporary.write_text(json.dumps(document, indent=2) + "\n")
        self.say("\n".join(lines))
        self.console.print(f"table: {table}")
        return table


def seeds_caption(settings: StudySettings) -> str:
    return (f"Ablation `{settings.study}`: mean ± half the range over training seeds "
            f"{', '.join(map(str, settings.seeds))} (split {SPLIT} test videos; KLD lower is better")


def mean_spread(values: list[float], decimals: int = 3) -> str:
    """`mean ± half range` (just the value for one seed)."""
    mean = float(np.mean(values))
    if len(values) == 1:
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {(max(values) - min(values)) / 2:.{decimals}f}"
