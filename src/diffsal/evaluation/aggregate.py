"""Aggregation as STAViS does it: frame -> mean per video -> mean over the videos of a database.

A database's score is the mean over its scored units, a unit being a (video, split) pair: the
three test lists are pooled, and a video that two splits test counts once per split model that
predicted it (STAViS ``compute_all_*.m``). For DIEM, whose one test list is scored by the three
split models, the mean over its 3 x 17 units equals the mean of the three split means.

Frames without fixations are dropped from every metric and counted; any other NaN (e.g. CC of a
constant prediction) is dropped from that metric only and counted per metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class VideoResult:
    """Per-frame scores of one unit and what happened to its frames."""

    database: str
    video: str
    split: int | None
    frames: int  # frames with ground truth
    metrics: tuple[str, ...]
    scores: dict[str, list[float]] = field(default_factory=dict)  # metric -> per scored frame
    scored_frames: list[int] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # prediction files (or frame labels) not found
    without_fixations: int = 0

    def add(self, frame: int, frame_scores: dict[str, float]) -> None:
        self.scored_frames.append(frame)
        for name in self.metrics:
            self.scores.setdefault(name, []).append(frame_scores[name])

    @property
    def frames_scored(self) -> int:
        return len(self.scored_frames)

    def mean(self, metric: str) -> float:
        values = np.asarray(self.scores.get(metric, []), dtype=np.float64)
        finite = values[~np.isnan(values)]
        return float(finite.mean()) if finite.size else math.nan

    def nan_frames(self, metric: str) -> int:
        return int(np.isnan(np.asarray(self.scores.get(metric, []), dtype=np.float64)).sum())


@dataclass
class DatabaseResult:
    """The score table row of one database."""

    database: str
    metrics: tuple[str, ...]
    units: list[VideoResult]

    @property
    def scored_units(self) -> list[VideoResult]:
        return [unit for unit in self.units if unit.frames_scored]

    def mean(self, metric: str) -> float:
        values = [unit.mean(metric) for unit in self.scored_units]
        finite = [value for value in values if not math.isnan(value)]
        return float(np.mean(finite)) if finite else math.nan

    def to_dict(self) -> dict:
        scored = self.scored_units
        return {
            "scores": {metric: _json_number(self.mean(metric)) for metric in self.metrics},
            "units": len(self.units),
            "units_scored": len(scored),
            "units_without_predictions": [_unit_label(unit) for unit in self.units if not unit.frames_scored],
            "frames": sum(unit.frames for unit in self.units),
            "frames_scored": sum(unit.frames_scored for unit in self.units),
            "frames_missing": sum(len(unit.missing) for unit in self.units),
            "frames_without_fixations": sum(unit.without_fixations for unit in self.units),
            "nan_frames": {metric: sum(unit.nan_frames(metric) for unit in self.units) for metric in self.metrics},
            "nan_videos": {metric: sum(math.isnan(unit.mean(metric)) for unit in scored) for metric in self.metrics},
        }


def aggregate(results: list[VideoResult], metrics: tuple[str, ...]) -> dict[str, DatabaseResult]:
    """Group unit results by database, in first-seen order."""
    grouped: dict[str, list[VideoResult]] = {}
    for result in results:
        grouped.setdefault(result.database, []).append(result)
    return {database: DatabaseResult(database, metrics, units) for database, units in grouped.items()}


def _unit_label(unit: VideoResult) -> str:
    return unit.video if unit.split is None else f"{unit.video} (split {unit.split})"


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value
