"""Ablations on the synthetic benchmark: the same data and training budget, several training seeds per row.

Studies (`diffsal ablate STUDY`):
- ``modality``: audio-visual vs video-only model vs centre prior, and a figure of the same test frames
  predicted by both models beside the ground truth;
- ``fusion``: the multi-modal interaction module (MIM) vs plain concatenation of the audio features;
- ``sampling``: DDIM steps x diffusion samples per frame for the audio-visual model: quality and time.

Every model is trained with `diffsal train` on the recipe, predicted with `diffsal predict` and scored with
`diffsal evaluate` (STAViS protocol, split 1 test videos). Each step is resumable: a rerun reuses finished
trainings, complete predictions and written scores. Results: ``OUT/<study>.md`` (the table) and
``OUT/<study>.json`` (every seed's scores).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console

from diffsal.data.annotations import read_saliency_map
from diffsal.data.fold_lists import fold_list_path, read_fold_list
from diffsal.data.layout import StavisLayout
from diffsal.demo.figures import plot_frame_grid
from diffsal.demo.steps import SPLIT, ensure_benchmark, run_command
from diffsal.errors import InputError
from diffsal.evaluation.predictions import read_prediction
from diffsal.inference.outputs import MAP_PATTERN
from diffsal.io.atomic import atomic_output
from diffsal.io.paths import check_output_folder
from diffsal.io.video import VideoReader
from diffsal.synth.benchmark import DATABASE, SynthConfig

STUDIES = ("modality", "fusion", "sampling")
METRICS = ("CC", "NSS", "AUC-J", "SIM", "sAUC", "KLD")


@dataclass(frozen=True)
class Variant:
    """A model trained from the recipe with these overrides."""

    key: str
    label: str
    overrides: tuple[str, ...] = ()


AUDIO_VISUAL = Variant("audio-visual", "DiffSal tiny, audio-visual (MIM)")
VIDEO_ONLY = Variant("video-only", "DiffSal tiny, video-only", ("model.overrides.use_audio=false",))
CONCAT = Variant("concat", "DiffSal tiny, audio-visual, plain concatenation (MIM off)",
                 ("model.overrides.unet.audio_fusion=concat",))
STUDY_VARIANTS = {"modality": (AUDIO_VISUAL, VIDEO_ONLY), "fusion": (AUDIO_VISUAL, CONCAT), "sampling": (AUDIO_VISUAL,)}


@dataclass
class AblationSettings:
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
    figure_frames: int = 4


@dataclass
class Row:
    """One table row: its label and, per seed, the scores (and seconds per frame)."""

    label: str
    command: str
    per_seed: dict[int, dict[str, float]] = field(default_factory=dict)


class Ablation:
    def __init__(self, settings: AblationSettings, console: Console) -> None:
        if settings.study not in STUDIES:
            raise InputError(f"unknown study {settings.study!r}; choose one of {', '.join(STUDIES)}")
        if not settings.seeds:
            raise InputError("at least one training seed is needed")
        if not settings.recipe.is_file():
            raise InputError(f"{settings.recipe}: recipe not found (run from the repository root or pass --recipe)")
        self.settings = settings
        self.console = console
        self.out = check_output_folder(settings.out_dir)
        self.data_root = self.out / "data"

    # ------------------------------------------------------------------ steps
    def train(self, variant: Variant, seed: int) -> Path:
        run_dir = self.out / "train" / f"{variant.key}-seed{seed}"
        overrides = [f"out_dir={run_dir}", f"data.root={self.data_root}", f"train.seed={seed}", *variant.overrides]
        if self.settings.train_steps is not None:
            overrides.append(f"train.max_steps={self.settings.train_steps}")
        resume = ["--resume"] if (run_dir / "checkpoints" / "last").exists() else []
        self.console.rule(f"training {variant.key}, seed {seed}")
        run_command(["train", "--config", str(self.settings.recipe), *overrides, *resume], "training")
        return run_dir / "checkpoints" / "best"

    def predict_and_score(self, model_dir: Path, name: str, *, steps: int | None = None,
                          samples: int = 1) -> dict[str, float]:
        """Predict the test split with `model_dir`, score it; the scores plus `s_per_frame` of the prediction."""
        predictions = self.out / "predictions" / name
        options = ["--steps", str(steps)] if steps is not None else []
        self.console.print(f"predicting {name}")
        run_command(["predict", str(self.data_root), "--model", str(model_dir), "--split", str(SPLIT),
                     "--out", str(predictions), "--no-overlay", "--no-uncertainty-video", "--seed", "0",
                     "--samples", str(samples), "--threads", str(self.settings.threads), "--quiet", *options],
                    "prediction")
        scores = self.score(str(predictions), name)
        summaries = [json.loads(path.read_text()) for path in sorted(predictions.glob(f"{DATABASE}/*/summary.json"))]
        frames = sum(summary["frames"] for summary in summaries)
        scores["s_per_frame"] = sum(summary["time"]["predict_s"] for summary in summaries) / max(frames, 1)
        return scores

    def score(self, source: str, name: str) -> dict[str, float]:
        evaluation = self.out / "evaluation" / name
        metrics = evaluation / "metrics.json"
        if not metrics.is_file():
            run_command(["evaluate", str(self.data_root), source, "--split", str(SPLIT), "--out", str(evaluation),
                         "--metrics", ",".join(METRICS)], "evaluation")
        document = json.loads(metrics.read_text())
        return dict(document["databases"][DATABASE]["scores"])

    # ------------------------------------------------------------------ studies
    def run(self) -> Path:
        settings = self.settings
        self.console.rule(f"[bold]ablation: {settings.study}")
        ensure_benchmark(self.data_root, SynthConfig(num_videos=settings.videos, seed=settings.data_seed,
                                                     seconds=settings.seconds), self.console.print)
        models = {(variant.key, seed): self.train(variant, seed)
                  for variant in STUDY_VARIANTS[settings.study] for seed in settings.seeds}
        if settings.study == "sampling":
            rows = self._sampling_rows(models)
        else:
            rows = self._variant_rows(models)
        if settings.study == "modality":
            rows.append(Row("centre prior", "diffsal evaluate DATA center-prior --split 1",
                            {seed: self.score("center-prior", "center-prior") for seed in settings.seeds[:1]}))
            self._modality_figure(models)
        return self._write(rows)

    def _variant_rows(self, models: dict[tuple[str, int], Path]) -> list[Row]:
        rows = []
        for variant in STUDY_VARIANTS[self.settings.study]:
            row = Row(variant.label, self._command(variant))
            for seed in self.settings.seeds:
                row.per_seed[seed] = self.predict_and_score(models[(variant.key, seed)], f"{variant.key}-seed{seed}")
            rows.append(row)
        return rows

    def _sampling_rows(self, models: dict[tuple[str, int], Path]) -> list[Row]:
        rows = []
        for samples in self.settings.samples:
            for steps in self.settings.steps:
                row = Row(f"{steps} DDIM step{'s' if steps > 1 else ''}, {samples} sample{'s' if samples > 1 else ''}",
                          self._command(AUDIO_VISUAL))
                for seed in self.settings.seeds:
                    name = f"{AUDIO_VISUAL.key}-seed{seed}-steps{steps}-samples{samples}"
                    row.per_seed[seed] = self.predict_and_score(models[(AUDIO_VISUAL.key, seed)], name, steps=steps,
                                                                samples=samples)
                rows.append(row)
        return rows

    def _modality_figure(self, models: dict[tuple[str, int], Path]) -> None:
        """The same test frames (evenly spaced over the first test video) from both models, seed of the first row."""
        seed = self.settings.seeds[0]
        video = read_fold_list(fold_list_path(self.data_root, DATABASE, "test", SPLIT)).videos[0]
        folders = {key: self.out / "predictions" / f"{key}-seed{seed}" / DATABASE / video
                   for key in (VIDEO_ONLY.key, AUDIO_VISUAL.key)}
        layout = StavisLayout(self.data_root)
        rows = []
        with VideoReader(self.data_root / "videos" / DATABASE / f"{video}.mp4") as reader:
            indices = np.linspace(reader.num_frames * 0.1, reader.num_frames * 0.9, self.settings.figure_frames)
            for index in indices.astype(int):
                number = int(index) + 1
                row = {"title": f"{video} frame {number}", "frame": reader.frame(int(index)),
                       "truth": read_saliency_map(layout.eye_map_path(DATABASE, video, int(index)))}
                for key, folder in folders.items():
                    row[key] = read_prediction(folder / MAP_PATTERN.format(number))
                rows.append(row)
        columns = (("frame (with sound)", "frame", None), ("ground truth", "truth", "inferno"),
                   ("video-only", VIDEO_ONLY.key, "inferno"), ("audio-visual", AUDIO_VISUAL.key, "inferno"))
        plot_frame_grid(rows, columns, self.out / "modality.png")
        self.console.print(f"figure: {self.out / 'modality.png'}")

    # ------------------------------------------------------------------ output
    def _command(self, variant: Variant) -> str:
        overrides = " ".join(variant.overrides)
        return f"diffsal train --config {self.settings.recipe} train.seed=SEED {overrides}".strip()

    def _write(self, rows: list[Row]) -> Path:
        settings = self.settings
        timed = settings.study == "sampling"
        seeds = ", ".join(map(str, settings.seeds))
        header = ["predictor", *METRICS, *(["s/frame"] if timed else []), "CC per seed"]
        lines = [f"Ablation `{settings.study}`: mean ± half the range over training seeds {seeds} "
                 f"(split {SPLIT} test videos; KLD lower is better"
                 f"{'; s/frame: the whole `diffsal predict` per frame, ' + str(settings.threads) + ' thread(s)' if timed else ''}).",
                 "", "| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
        for row in rows:
            cells = [_mean_spread([scores[name] for scores in row.per_seed.values()]) for name in METRICS]
            if timed:
                cells.append(_mean_spread([scores["s_per_frame"] for scores in row.per_seed.values()], decimals=4))
            cells.append(" / ".join(f"{scores['CC']:.3f}" for scores in row.per_seed.values()))
            lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
        table = self.out / f"{settings.study}.md"
        with atomic_output(table) as temporary:
            temporary.write_text("\n".join(lines) + "\n")
        document = {"study": settings.study, "seeds": list(settings.seeds), "recipe": str(settings.recipe),
                    "train_steps": settings.train_steps,
                    "rows": [{"label": row.label, "train_command": row.command,
                              "per_seed": {str(seed): scores for seed, scores in row.per_seed.items()}} for row in rows]}
        with atomic_output(self.out / f"{settings.study}.json") as temporary:
            temporary.write_text(json.dumps(document, indent=2) + "\n")
        self.console.print("\n".join(lines))
        self.console.print(f"table: {table}")
        return table


def _mean_spread(values: list[float], decimals: int = 3) -> str:
    """`mean ± half range` (just the value for one seed)."""
    mean = float(np.mean(values))
    if len(values) == 1:
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {(max(values) - min(values)) / 2:.{decimals}f}"


def run_ablation(settings: AblationSettings, console: Console | None = None) -> Path:
    """Run one study; returns the path of its Markdown table."""
    return Ablation(settings, console or Console(stderr=True)).run()
