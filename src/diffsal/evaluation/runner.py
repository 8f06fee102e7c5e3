"""`evaluate`: score a prediction source against a benchmark, frame by frame, as STAViS does.

Steps: find the units (layouts), list missing prediction files (an error with `strict`), read
every fixation map once (the sAUC other maps need whole videos), then score units in a thread
pool (numpy, scipy and PIL release the GIL in the heavy parts) and aggregate.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from diffsal import __version__
from diffsal.data.annotations import read_saliency_map
from diffsal.errors import DatasetError, InputError
from diffsal.evaluation.aggregate import DatabaseResult, VideoResult, aggregate
from diffsal.evaluation.center_prior import center_prior
from diffsal.evaluation.layouts import Benchmark, EvaluationUnit
from diffsal.evaluation.other_maps import DEFAULT_OTHER_VIDEOS, OtherMaps, VideoFixations, load_video_fixations
from diffsal.evaluation.predictions import CenterPriorPredictions, FolderPredictions
from diffsal.metrics.frame import METRIC_NAMES, parse_metric_names, score_frame
from diffsal.metrics.postprocess import STAVIS_POSTPROCESS, PostProcess

MAP_METRICS = frozenset({"CC", "SIM", "KLD"})
MISSING_LISTED = 20  # how many missing files an error message names


@dataclass(frozen=True)
class EvaluationSettings:
    """How frames are scored; everything here is written to metrics.json."""

    metrics: tuple[str, ...] = METRIC_NAMES
    sauc_variant: str = "same-video"
    other_videos: int = DEFAULT_OTHER_VIDEOS
    n_splits: int = 100
    step: float = 0.1
    seed: int = 0
    postprocess: PostProcess = STAVIS_POSTPROCESS
    strict: bool = False
    workers: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", parse_metric_names(self.metrics))
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
        self.databases = aggregate(self.units, self.settings.metrics)

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
            "seed": settings.seed,
            "sauc": {**self.other_maps, "splits": settings.n_splits, "step": settings.step},
            "auc_borji": {"splits": settings.n_splits, "step": settings.step},
            "auc_judd": {"jitter": 1e-7},
            "ig_baseline": "center-prior",
            "postprocess": settings.postprocess.to_dict(),
            "aggregation": "frame -> mean per (video, split) unit -> mean over units; frames without "
                           "fixations dropped and counted; other NaN dropped per metric and counted",
            "databases": {name: database.to_dict() for name, database in self.databases.items()},
            "missing_predictions": {"count": len(self.missing), "files": self.missing},
            "split_coverage": {name: coverage.to_dict() for name, coverage in self.benchmark.coverage.items()},
        }


def evaluate(benchmark: Benchmark, source: FolderPredictions | CenterPriorPredictions,
             settings: EvaluationSettings = EvaluationSettings(),
             progress: Callable[[VideoResult], None] | None = None) -> EvaluationResult:
    """Score every unit of `benchmark`; see the module docstring for the steps.

    Raises:
        InputError: no prediction file at all (the folder and the pattern looked for: nothing would be
            scored); with `settings.strict`, when prediction files are missing (count and names);
            a prediction that cannot be read or scored (naming the file).
        DatasetError: missing or corrupt ground truth (naming the file).
    """
    missing = {id(unit): _missing_frames(unit, source) for unit in benchmark.units}
    total_missing = sum(len(frames) for frames in missing.values())
    if isinstance(source, FolderPredictions) and total_missing == sum(len(unit.ground_truth.frames)
                                                                      for unit in benchmark.units):
        first = benchmark.units[0]
        raise InputError(f"{source.root}: no prediction file matches the pattern {source.pattern!r} "
                         f"(looked for e.g. {source.path(first, first.ground_truth.frames[0])})")
    if settings.strict and total_missing:
        listed = [str(source.path(unit, frame)) for unit in benchmark.units for frame in missing[id(unit)]]
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


def _missing_frames(unit: EvaluationUnit, source: FolderPredictions | CenterPriorPredictions) -> set[int]:
    missing = set()
    for frame in unit.ground_truth.frames:
        path = source.path(unit, frame)
        if path is not None and not path.is_file():
            missing.add(frame)
    return missing


def _score_unit(unit: EvaluationUnit, source, fixations: VideoFixations, other_maps: OtherMaps,
                settings: EvaluationSettings, missing: set[int]) -> VideoResult:
    ground_truth = unit.ground_truth
    result = VideoResult(unit.database, unit.video, unit.split, len(ground_truth.frames), settings.metrics)
    result.missing = [str(source.path(unit, frame)) for frame in ground_truth.frames if frame in missing]
    metrics = settings.metrics
    shape = fixations.shape
    baseline = center_prior(shape) if "IG" in metrics else None
    video_key = zlib.crc32(f"{unit.database}/{unit.video}".encode())
    for frame in ground_truth.frames:
        if frame in missing:
            continue
        if fixations.frames[frame].size == 0:
            result.without_fixations += 1
            continue
        saliency = None
        if MAP_METRICS & set(metrics):
            map_path = ground_truth.map_path(frame)
            saliency = read_saliency_map(map_path)
            if saliency.shape != shape:
                raise DatasetError(f"{map_path}: map is {saliency.shape}, the fixation maps are {shape}")
        prediction = source.load(unit, frame, shape)
        label = source.path(unit, frame) or f"{unit.database}/{unit.video} frame {frame}"
        if prediction is None:  # deleted since the missing-file check
            result.missing.append(str(label))
            continue
        rng = np.random.default_rng([settings.seed, video_key, unit.split or 0, frame])
        try:
            if source.postprocess:
                prediction = settings.postprocess(prediction, shape)
            scores = score_frame(
                prediction, saliency, fixations.fixation_map(frame), metrics=metrics,
                other_map=other_maps.other_map(unit.database, unit.video, frame) if "sAUC" in metrics else None,
                baseline=baseline, n_splits=settings.n_splits, step=settings.step, rng=rng)
        except InputError as error:
            raise InputError(f"{label}: {error}") from error
        result.add(frame, scores)
    return result
