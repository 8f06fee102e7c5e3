"""Studies on the synthetic benchmark (`diffsal ablate STUDY`): the same data and training budget, several
training seeds per row, every step a library call (`diffsal.experiments.steps`).

- ``modality`` (`modality`): audio-visual vs video-only model vs centre prior, and a figure;
- ``fusion`` (`fusion`): the multi-modal interaction module (MIM) vs plain concatenation;
- ``sampling`` (`sampling`): DDIM steps x diffusion samples per frame: quality and time;
- ``accuracy-at-speed`` (`accuracy_at_speed`): K maps per clip vs K = 1, and bf16 vs fp32 maps;
- ``reframing`` (`reframing`): 9:16 reframing with each model's maps against a centre crop and a window that
  follows every object: how often the window holds the sounding object, and how smooth its path is.

Each step is resumable: a rerun reuses finished trainings, complete predictions and written scores.
Results: ``OUT/<study>.md`` (the table, mean ± half the range over seeds) and ``OUT/<study>.json``
(every seed's scores).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from diffsal.errors import InputError
from diffsal.experiments import accuracy_at_speed, fusion, modality, reframing, sampling
from diffsal.experiments.common import Study, StudySettings

STUDY_RUNS = {"modality": modality.run, "fusion": fusion.run, "sampling": sampling.run,
              "accuracy-at-speed": accuracy_at_speed.run, "reframing": reframing.run}
STUDIES = tuple(STUDY_RUNS)


def run_study(settings: StudySettings, console: Console | None = None) -> Path:
    """Run one study; returns the path of its Markdown table."""
    if settings.study not in STUDY_RUNS:
        raise InputError(f"unknown study {settings.study!r}; choose one of {', '.join(STUDIES)}")
    study = Study(settings, console or Console(stderr=True))
    study.console.rule(f"[bold]ablation: {settings.study}")
    study.make_data()
    return STUDY_RUNS[settings.study](study)


__all__ = ["STUDIES", "Study", "StudySettings", "run_study"]
