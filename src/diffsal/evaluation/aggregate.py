"""Aggregation as STAViS does it: frame -> mean per video -> mean over the videos of a database.

A database's score is the mean over its scored units, a unit being a (video, split) pair: the
three test lists are pooled, and a video that two splits test counts once per split model that
predicted it (STAViS ``compute_all_*.m``). For DIEM, whose one test list is scored by the three
split models, the mean over its 3 x 17 units equals the mean of the three split means.

A frame a metric cannot score (NaN) drops out of that metric only, counted with its reason; the
protocol decides whether frames without fixations are scored at all and whether a video without a
score for a metric makes the database's score NaN (`diffsal.evaluation.protocol`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

# Why a frame has no score for a metric.
NO_FIXATIONS = "no-fixations"  # NSS, AUCs and IG need fixations; the strict protocol drops the frame
ONE_FIXATION = "one-fixation"  # AUC-Borji needs two fixated pixels under the stavis protocol
EMPTY_PREDICTION = "empty-prediction"  # the prediction is <= 0 everywhere: nothing left after clipping
UNDEFINED = "undefined"  # a constant map (e.g. CC on a black ground-truth map), sAUC without negatives
DROP_REASONS = (NO_FIXATIONS, ONE_FIXATION, EMPTY_PREDICTION, UNDEFINED)


@dataclass
class VideoResult:
    """Per-frame scores of one unit and what happened to its frames."""

    database: str
    video: str
    split: int | None
    frames: int  # frames with ground truth
    metrics: tuple[str, ...]
    scores: dict[str, list[float]] = field(default_factory=dict)  # metric -> score of each frame it scored
    dropped: dict[str, Counter] = field(default_factory=dict)  # metric -> {reason: frames}
    dropped_scored_by_another: Counter = field(default_factory=Counter)  # metric -> frames another metric scored
    frames_scored: int = 0  # frames with a prediction that the protocol scores
    missing: list[str] = field(default_factory=list)  # prediction files (or frame labels) not found
    without_fixations: int = 0  # frames with a prediction and no fixation

    def __post_init__(self) -> None:
        for name in self.metrics:
            self.scores.setdefault(name, [])
            self.dropped.setdefault(name, Counter())

    def add(self, frame_scores: dict[str, float], reasons: dict[str, str]) -> None:
        """Record a scored frame: the finite scores, and for each NaN one its reason (`reasons[metric]`)."""
        self.frames_scored += 1
        scored_somewhere = any(not math.isnan(frame_scores[name]) for name in self.metrics)
        for name in self.metrics:
            value = frame_scores[name]
            if math.isnan(value):
                self.dropped[name][reasons[name]] += 1
                if scored_somewhere:
                    self.dropped_scored_by_another[name] += 1
            else:
                self.scores[name].append(value)

    def drop_frame(self, reason: str) -> None:
        """Record a frame that no metric scores (e.g. no fixations under the strict protocol)."""
        for name in self.metrics:
            self.dropped[name][reason] += 1

    @property
    def has_predictions(self) -> bool:
        return self.frames_scored > 0 or self.without_fixations > 0

    def mean(self, metric: str) -> float:
        values = self.scores.get(metric, [])
        return float(np.mean(values)) if values else math.nan

    def frames_with_score(self, metric: str) -> int:
        return len(self.scores.get(metric, []))

    def nan_frames(self, metric: str) -> int:
        return sum(self.dropped.get(metric, Counter()).values())

    def counts(self) -> dict:
        """Per metric: frames scored, and frames dropped by reason."""
        return {name: {"frames_scored": self.frames_with_score(name),
                       "frames_dropped": dict(sorted(self.dropped[name].items())),
                       "dropped_but_scored_by_another_metric": self.dropped_scored_by_another[name]}
                for name in self.metrics}


@dataclass
class DatabaseResult:
    """The score table row of one database."""

    database: str
    metrics: tuple[str, ...]
    units: list[VideoResult]
    propagate_nan: bool = True  # MATLAB: a unit without a score makes the database's score NaN

    @property
    def scored_units(self) -> list[VideoResult]:
        return [unit for unit in self.units if unit.has_predictions]

    def mean(self, metric: str) -> float:
        values = [unit.mean(metric) for unit in self.scored_units]
        if not self.propagate_nan:
            values = [value for value in values if not math.isnan(value)]
        return float(np.mean(values)) if values else math.nan

    def counts(self) -> dict:
        """Per metric over all units: frames scored, frames dropped by reason, units without a score."""
        result = {}
        for name in self.metrics:
            dropped = sum((unit.dropped[name] for unit in self.units), Counter())
            result[name] = {
                "frames_scored": sum(unit.frames_with_score(name) for unit in self.units),
                "frames_dropped": dict(sorted(dropped.items())),
                "dropped_but_scored_by_another_metric": sum(unit.dropped_scored_by_another[name]
                                                            for unit in self.units),
                "videos_without_score": sum(math.isnan(unit.mean(name)) for unit in self.scored_units),
            }
        return result

    def to_dict(self) -> dict:
        scored = self.scored_units
        counts = self.counts()
        return {
            "scores": {metric: json_number(self.mean(metric)) for metric in self.metrics},
            "units": len(self.units),
            "units_scored": len(scored),
            "units_without_predictions": [_unit_label(unit) for unit in self.units if not unit.has_predictions],
            "frames": sum(unit.frames for unit in self.units),
            "frames_scored": sum(unit.frames_scored for unit in self.units),
            "frames_missing": sum(len(unit.missing) for unit in self.units),
            "frames_without_fixations": sum(unit.without_fixations for unit in self.units),
            "per_metric": counts,
            "nan_frames": {metric: sum(counts[metric]["frames_dropped"].values()) for metric in self.metrics},
            "nan_videos": {metric: counts[metric]["videos_without_score"] for metric in self.metrics},
        }


def aggregate(results: list[VideoResult], metrics: tuple[str, ...],
              propagate_nan: bool = True) -> dict[str, DatabaseResult]:
    """Group unit results by database, in first-seen order."""
    grouped: dict[str, list[VideoResult]] = {}
    for result in results:
        grouped.setdefault(result.database, []).append(result)
    return {database: DatabaseResult(database, metrics, units, propagate_nan) for database, units in grouped.items()}


def _unit_label(unit: VideoResult) -> str:
    return unit.video if unit.split is None else f"{unit.video} (split {unit.split})"


def json_number(value: float) -> float | None:
    return None if math.isnan(value) else value
