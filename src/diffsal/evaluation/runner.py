"""`evaluate`: score a prediction source against a benchmark, frame by frame, under a protocol.

Steps: find the units (layouts), list missing prediction files (an error with `require_all_frames`), read
every fixation map once (the sAUC other maps need whole videos), then score units in a thread
pool (numpy, scipy and PIL release the GIL in the heavy parts) and aggregate.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from diffsal import __version__
from diffsal.data.ground_truth import GroundTruth
from diffsal.errors import DatasetError, InputError
from diffsal.evaluation.aggregate import (EMPTY_PREDICTION, NO_FIXATIONS, ONE_FIXATION, UNDEFINED, DatabaseResult,
                                         VideoResult, aggregate, json_number)
from diffsal.evaluation.center_prior import center_prior
from diffsal.evaluation.layouts import Benchmark, EvaluationUnit
from diffsal.evaluation.other_maps import DEFAULT_OTHER_VIDEOS, OtherMaps, VideoFixations, load_video_fixations
from diffsal.evaluation.predictions import CenterPriorPredictions, FolderPredictions
from diffsal.metrics.frame import METRIC_NAMES, parse_metric_names, score_frame
from diffsal.evaluation.protocol import STAVIS, Protocol
from diffsal.metrics.postprocess import STAVIS_POSTPROCESS, PostProcess

MAP_METRICS = frozenset({"CC", "SIM", "KLD"})
FIXATION_METRICS = frozenset({"NSS", "AUC-J", "AUC-B", "sAUC", "IG"})  # NaN on a frame without fixations
MISSING_LISTED = 20  # how many missing files an error message names


@dataclass(frozen=True)
class EvaluationSettings:
    """How frames are scored; everything here is written to metrics.json."""

    metrics: tuple[str, ...] = METRIC_NAMES
    protocol: Protocol = STAVIS
    sauc_variant: str = "same-video"
    other_videos: int = DEFAULT_OTHER_VIDEOS
    n_splits: int = 100
    step: float = 0.1
    seed: int = 0
    postprocess: PostProcess | None = None  # None: the STAViS steps, clipping as the protocol says
    require_all_frames: bool = False  # a missing prediction file is an error (else it is counted and skipped)
    workers: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", parse_metric_names(self.metrics))
        if self.postprocess is None:
            object.__setattr__(self, "postprocess",
                               dataclasses.replace(STAVIS_POSTPROCESS, clip=self.protocol.clip_prediction))
        if self.workers < 1:
            raise InputError(f"workers must be >= 1, got {self.workers}")
        if self.n_splits < 1:
            raise InputError(f"the number of AUC splits must be >= 1, got {self.n_splits}")


@dataclass
class EvaluationResult:
    benchmark: Benchmark
    source: dict
    settings: EvaluationSettings
    other_maps: dict
    units: list[VideoResult]
    databases: dict[str, DatabaseResult] = field(init=False)

    def __post_init__(self) -> None:
        self.databases = aggregate(self.units, self.settings.metrics, self.settings.protocol.database_mean_propagates_nan)

    @property
    def departures(self) -> list[str]:
        """Every way this evaluation differs from the STAViS MATLAB code, in words (empty: none)."""
        settings = self.settings
        departures = settings.protocol.departures()
        reference = dataclasses.replace(STAVIS_POSTPROCESS, clip=settings.protocol.clip_prediction)
        for step, value in settings.postprocess.to_dict().items():
            if value != getattr(reference, step):
                departures.append(f"post-processing {step} = {value} (STAViS: {getattr(reference, step)})")
        if "sAUC" in settings.metrics and settings.sauc_variant != "same-video":
            departures.append(f"sAUC other map {settings.sauc_variant} (STAViS: same-video)")
        if (settings.n_splits, settings.step) != (100, 0.1) and {"AUC-B", "sAUC"} & set(settings.metrics):
            departures.append(f"AUC splits {settings.n_splits}, step {settings.step} (STAViS: 100, 0.1)")
        return departures

    @property
    def inconsistent_drops(self) -> dict[str, int]:
        """Per metric, the frames it dropped that another metric scored (only metrics with some)."""
        totals = {name: sum(unit.dropped_scored_by_another[name] for unit in self.units)
                  for name in self.settings.metrics}
        return {name: count for name, count in totals.items() if count}

    @property
    def missing(self) -> list[str]:
        return [path for unit in self.units for path in unit.missing]

    def to_dict(self) -> dict:
        settings = self.settings
        return {
            "diffsal_version": __version__,
            "data_root": str(self.benchmark.root),
            "layout": self.benchmark.layout,
            "predictions": self.source,
            "metrics": list(settings.metrics),
            "protocol": {"name": settings.protocol.name, "rules": settings.protocol.rules(),
                         "departures_from_stavis": self.departures},
            "seed": settings.seed,
            "sauc": {**self.other_maps, "splits": settings.n_splits, "step": settings.step},
            "auc_borji": {"splits": settings.n_splits, "step": settings.step},
            "auc_judd": {"jitter": 1e-7},
            "ig_baseline": "center-prior",
            "postprocess": settings.postprocess.to_dict(),
            "aggregation": "frame -> mean per (video, split) unit -> mean over units; a frame a metric cannot "
                           "score drops out of that metric, counted with its reason",
            "databases": {name: database.to_dict() for name, database in self.databases.items()},
            "videos": [{"database": unit.database, "video": unit.video, "split": unit.split,
                        "frames": unit.frames, "frames_scored": unit.frames_scored,
                        "frames_missing": len(unit.missing), "frames_without_fixations": unit.without_fixations,
                        "scores": {name: json_number(unit.mean(name)) for name in settings.metrics},
                        "per_metric": unit.counts()} for unit in self.units],
            "missing_predictions": {"count": len(self.missing), "files": self.missing},
            "split_coverage": {name: coverage.to_dict() for name, coverage in self.benchmark.coverage.items()},
        }


def evaluate(benchmark: Benchmark, source: FolderPredictions | CenterPriorPredictions,
             settings: EvaluationSettings = EvaluationSettings(),
             progress: Callable[[VideoResult], None] | None = None) -> EvaluationResult:
    """Score every unit of `benchmark`; see the module docstring for the steps.

    Raises:
        InputError: no prediction file at all (the folder and the pattern looked for: nothing would be
            scored); with `settings.require_all_frames`, when prediction files are missing (count and names);
            a prediction that cannot be read or scored (naming the file).
        DatasetError: missing or corrupt ground truth (naming the file).
    """
    missing = {id(unit): source.missing_frames(unit) for unit in benchmark.units}
    total_missing = sum(len(frames) for frames in missing.values())
    if isinstance(source, FolderPredictions) and total_missing == sum(len(unit.ground_truth.frames)
                                                                      for unit in benchmark.units):
        first = benchmark.units[0]
        raise InputError(f"{source.root}: no prediction file matches the pattern {source.pattern!r} "
                         f"(looked for e.g. {source.path(first, first.ground_truth.frames[0])})")
    if settings.require_all_frames and total_missing:
        listed = [source.label(unit, frame) for unit in benchmark.units for frame in sorted(missing[id(unit)])]
        more = f" and {total_missing - MISSING_LISTED} more" if total_missing > MISSING_LISTED else ""
        raise InputError(f"{total_missing} prediction frame(s) missing: {', '.join(listed[:MISSING_LISTED])}{more}")

    videos = {(unit.database, unit.video): unit.ground_truth for unit in benchmark.units}
    with ThreadPoolExecutor(max_workers=settings.workers) as pool:
        loaded = list(pool.map(load_video_fixations, videos.values()))
        fixations = dict(zip(videos, loaded))
        other_maps = OtherMaps(settings.sauc_variant, fixations, other_videos=settings.other_videos,
                               seed=settings.seed)

        def score(unit: EvaluationUnit) -> VideoResult:
            result = _score_unit(unit, source, fixations[(unit.database, unit.video)], other_maps,
                                 settings, missing[id(unit)])
            if progress is not None:
                progress(result)
            return result

        results = list(pool.map(score, benchmark.units))
    return EvaluationResult(benchmark, source.describe(), settings, other_maps.describe(), results)


def _score_unit(unit: EvaluationUnit, source, fixations: VideoFixations, other_maps: OtherMaps,
                settings: EvaluationSettings, missing: set[int]) -> VideoResult:
    truth = GroundTruth(unit.ground_truth.record)
    try:
        return _score_frames(unit, truth, source, fixations, other_maps, settings, missing)
    finally:
        truth.close()


def _score_frames(unit: EvaluationUnit, truth: GroundTruth, source, fixations: VideoFixations,
                  other_maps: OtherMaps, settings: EvaluationSettings, missing: set[int]) -> VideoResult:
    ground_truth = unit.ground_truth
    protocol = settings.protocol
    result = VideoResult(unit.database, unit.video, unit.split, len(ground_truth.frames), settings.metrics)
    result.missing = [source.label(unit, frame) for frame in ground_truth.frames if frame in missing]
    metrics = settings.metrics
    shape = fixations.shape
    baseline = center_prior(shape) if "IG" in metrics else None
    video_key = zlib.crc32(f"{unit.database}/{unit.video}".encode())
    for frame in ground_truth.frames:
        if frame in missing:
            continue
        fixation_count = fixations.frames[frame].size
        if fixation_count == 0:
            result.without_fixations += 1
            if not protocol.score_frames_without_fixations:
                result.drop_frame(NO_FIXATIONS)
                continue
        saliency = None
        if MAP_METRICS & set(metrics):
            saliency = truth.saliency(frame - 1)
            if saliency.shape != shape:
                raise DatasetError(f"{ground_truth.map_path(frame)}: map is {saliency.shape}, the fixation maps are "
                                   f"{shape}")
        prediction = source.load(unit, frame, shape)
        label = source.label(unit, frame)
        if prediction is None:  # deleted since the missing-file check
            result.missing.append(label)
            continue
        rng = np.random.default_rng([settings.seed, video_key, unit.split or 0, frame])
        try:
            if source.postprocess:
                prediction = settings.postprocess(prediction, shape)
            if np.isnan(prediction).any():  # nothing above 0 was left by clipping: MATLAB's 0 / 0
                result.add(dict.fromkeys(metrics, float("nan")), dict.fromkeys(metrics, EMPTY_PREDICTION))
                continue
            other_map = None
            if "sAUC" in metrics:
                other_map = other_maps.other_map(unit.database, unit.video, frame,
                                                 remove_only_ones=protocol.other_map_removes_only_ones)
            scores = score_frame(
                prediction, saliency, fixations.fixation_map(frame), metrics=metrics, other_map=other_map,
                baseline=baseline, n_splits=settings.n_splits, step=settings.step, rng=rng,
                kld_clip_negative=protocol.kld_clip_negative,
                auc_borji_min_fixations=protocol.auc_borji_min_fixations)
        except InputError as error:
            raise InputError(f"{label}: {error}") from error
        result.add(scores, {name: _drop_reason(name, fixation_count, protocol) for name in metrics})
    return result


def _drop_reason(metric: str, fixation_count: int, protocol: Protocol) -> str:
    """Why `metric` has no score on a frame with `fixation_count` fixated pixels (used only where it is NaN)."""
    if metric in FIXATION_METRICS and fixation_count == 0:
        return NO_FIXATIONS
    if metric == "AUC-B" and fixation_count < protocol.auc_borji_min_fixations:
        return ONE_FIXATION
    return UNDEFINED
