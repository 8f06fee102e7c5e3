"""``modality``: audio-visual vs video-only model vs centre prior, and a figure of the same test frames
predicted by both models beside the ground truth (``OUT/modality.png``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from diffsal.data.annotations import read_saliency_map
from diffsal.data.fold_lists import fold_list_path, read_fold_list
from diffsal.data.layout import StavisLayout
from diffsal.evaluation.predictions import read_prediction
from diffsal.experiments.common import AUDIO_VISUAL, Row, Study, Variant, seeds_caption
from diffsal.experiments.figures import plot_frame_grid
from diffsal.experiments.steps import SPLIT
from diffsal.predictions.folder import MAP_PATTERN
from diffsal.io.video import VideoReader
from diffsal.synth.benchmark import DATABASE

VIDEO_ONLY = Variant("video-only", "DiffSal tiny, video-only", ("model.overrides.use_audio=false",))
VARIANTS = (AUDIO_VISUAL, VIDEO_ONLY)


def variant_rows(study: Study, variants: tuple[Variant, ...], models: dict[tuple[str, int], Path]) -> list[Row]:
    """One row per variant: its models (one per seed) predicted and scored."""
    rows = []
    for variant in variants:
        row = Row(variant.label, study.train_command(variant))
        for seed in study.settings.seeds:
            row.per_seed[seed] = study.predict_and_score(models[(variant.key, seed)], f"{variant.key}-seed{seed}")
        rows.append(row)
    return rows


def run(study: Study) -> Path:
    settings = study.settings
    models = study.train_all(VARIANTS)
    rows = variant_rows(study, VARIANTS, models)
    rows.append(Row("centre prior", "diffsal evaluate DATA center-prior --split 1",
                    {seed: study.score("center-prior", "center-prior") for seed in settings.seeds[:1]}))
    _figure(study)
    return study.write(rows, seeds_caption(settings) + ").")


def _figure(study: Study) -> None:
    """The same test frames (evenly spaced over the first test video) from both models, seed of the first row."""
    seed = study.settings.seeds[0]
    data_root = study.data_root
    video = read_fold_list(fold_list_path(data_root, DATABASE, "test", SPLIT)).videos[0]
    folders = {key: study.out / "predictions" / f"{key}-seed{seed}" / DATABASE / video
               for key in (VIDEO_ONLY.key, AUDIO_VISUAL.key)}
    layout = StavisLayout(data_root)
    rows = []
    with VideoReader(data_root / "videos" / DATABASE / f"{video}.mp4") as reader:
        indices = np.linspace(reader.num_frames * 0.1, reader.num_frames * 0.9, study.settings.figure_frames)
        for index in indices.astype(int):
            number = int(index) + 1
            row = {"title": f"{video} frame {number}", "frame": reader.frame(int(index)),
                   "truth": read_saliency_map(layout.eye_map_path(DATABASE, video, int(index)))}
            for key, folder in folders.items():
                row[key] = read_prediction(folder / MAP_PATTERN.format(number))
            rows.append(row)
    columns = (("frame (with sound)", "frame", None), ("ground truth", "truth", "inferno"),
               ("video-only", VIDEO_ONLY.key, "inferno"), ("audio-visual", AUDIO_VISUAL.key, "inferno"))
    plot_frame_grid(rows, columns, study.out / "modality.png")
    study.console.print(f"figure: {study.out / 'modality.png'}")
