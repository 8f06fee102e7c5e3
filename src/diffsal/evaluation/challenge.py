"""`evaluate --protocol challenge`: a submission scored on a challenge root as the AIM 2024 / NTIRE 2026 scoring
script (``bench.py``) scores it, rule for rule (the rules: `docs/evaluation.md`).

- The videos: the part's names in ``TrainTestSplit.json`` (``public_test`` by default). Each needs its ground
  truth (map video under ``Saliency*/``, ``fixations.json`` under ``Fixations*/``) and one prediction file in the
  submission folder whose name without its extension is the video's name (any video format); or, for
  ``center-prior``, the centre-prior baseline as an 8-bit map in every frame.
- The frames: every frame of the prediction and of the map video, read as FFmpeg extracts them to PNG
  (`diffsal.io.video.VideoReader.png_frame`); the two must have the same frame count. The script pairs frame
  files in the order of their sorted names (``001.png`` ...; past frame 999, ``1000.png`` sorts before
  ``101.png``) with the fixation lists in file order, and stops at the shorter of the two: both kept.
- Each frame: the metrics of `diffsal.metrics.challenge`; a video's score is the mean over its frames, the part's
  the mean over its videos.

Where the script would crash or silently misread, this refuses with one line naming the file: a frame without
fixations, a fixation outside the map, a frame count that differs, a video without prediction or ground truth.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffsal.data.challenge import part_ground_truth, read_fixations
from diffsal.data.layout import CHALLENGE_DEFAULT_PART, CHALLENGE_NAME, ChallengeLayout, is_challenge_root
from diffsal.data.video_record import VideoRecord
from diffsal.errors import DatasetError, InputError
from diffsal.evaluation.aggregate import UNDEFINED, VideoResult
from diffsal.evaluation.center_prior import DEFAULT_SIGMA_FRACTION, center_prior
from diffsal.evaluation.layouts import Benchmark, EvaluationUnit, GroundTruthVideo
from diffsal.evaluation.predictions import CENTER_PRIOR
from diffsal.evaluation.runner import EvaluationResult, EvaluationSettings
from diffsal.io.paths import check_input_path
from diffsal.io.video import VideoReader
from diffsal.metrics.challenge import CHALLENGE_METRICS, read_map, resize_bilinear, score_frame

FRAMES_CACHED = 2  # both videos are read in order
EXTRACTED_NAME = "{:03d}.png"  # the script's FFmpeg output pattern, whose sorted names order the frames


@dataclass(frozen=True)
class SubmissionVideo:
    """One scored video: its ground truth and its prediction file (None: the centre prior)."""

    name: str
    map_video: Path
    fixations: Path
    prediction: Path | None


def center_prior_levels(size: tuple[int, int]) -> np.ndarray:
    """The centre-prior baseline (`diffsal.evaluation.center_prior`) at `size` = (width, height) as an 8-bit map,
    as a submission of it holds every frame."""
    return np.rint(center_prior(size[::-1]) * 255).astype(np.uint8)


def extraction_order(num_frames: int) -> list[int]:
    """The 0-based frames in the order of their extracted file names sorted as text (the script's pairing)."""
    return sorted(range(num_frames), key=lambda index: EXTRACTED_NAME.format(index + 1))


def find_submission(data: str | Path, predictions: str | Path, part: str) -> list[SubmissionVideo]:
    """The videos of `part` with their ground truth and prediction (`predictions` ``center-prior``: the centre
    prior for each), in name order.

    Raises:
        InputError: a missing folder; a video of the part without a prediction, or with two prediction files.
        DatasetError: a bad split file; a video of the part without its map video or fixations.
    """
    layout = ChallengeLayout(check_input_path(data, "dataset root"))
    if str(predictions) == CENTER_PRIOR:
        return [SubmissionVideo(*ground_truth, None) for ground_truth in part_ground_truth(layout, part)]
    root = check_input_path(predictions, "submission folder")
    if not root.is_dir():
        raise InputError(f"{root}: not a folder (expected the submission: one <video>.mp4 per video)")
    ground_truth = part_ground_truth(layout, part)
    files: dict[str, list[Path]] = {}
    for path in sorted(root.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            files.setdefault(path.stem, []).append(path)
    names = [name for name, _, _ in ground_truth]
    unpredicted = [name for name in names if name not in files]
    if unpredicted:
        shown = ", ".join(unpredicted[:5]) + (" ..." if len(unpredicted) > 5 else "")
        raise InputError(f"{root}: no prediction for {len(unpredicted)} of the {len(names)} {part} video(s) "
                         f"(expected <video>.mp4): {shown}")
    doubled = [name for name in names if len(files[name]) > 1]
    if doubled:
        raise InputError(f"{root}: two prediction files for {doubled[0]}: "
                         f"{', '.join(path.name for path in files[doubled[0]])}")
    return [SubmissionVideo(name, map_video, fixations, files[name][0]) for name, map_video, fixations in ground_truth]


def score_video(video: SubmissionVideo) -> VideoResult:
    """The per-frame challenge metrics of one video."""
    with contextlib.ExitStack() as readers:
        truth = readers.enter_context(VideoReader(video.map_video, cache_frames=FRAMES_CACHED))
        prediction, prior = None, None
        if video.prediction is None:
            prior = read_map(center_prior_levels(truth.size))
        else:
            prediction = readers.enter_context(VideoReader(video.prediction, cache_frames=FRAMES_CACHED))
            if prediction.num_frames != truth.num_frames:
                raise InputError(f"{video.prediction}: {prediction.num_frames} frames, but the ground truth "
                                 f"{video.map_video} has {truth.num_frames}")
        points = read_fixations(video.fixations, truth.size)
        order = extraction_order(truth.num_frames)[: len(points)]
        empty = [number for number, frame in enumerate(points[: len(order)], start=1) if not len(frame)]
        if empty:
            raise DatasetError(f"{video.fixations}: frame {empty[0]} has no fixation (the challenge's scoring "
                               f"cannot score such a frame; {len(empty)} in this video)")
        result = VideoResult(CHALLENGE_NAME, video.name, None, truth.num_frames, CHALLENGE_METRICS)
        for position, index in enumerate(order):
            saliency = read_map(truth.png_frame(index))
            predicted = prior if prediction is None else resize_bilinear(read_map(prediction.png_frame(index)),
                                                                         truth.size)
            result.add(score_frame(predicted, saliency, points[position]), dict.fromkeys(CHALLENGE_METRICS, UNDEFINED))
    return result


def score_challenge(data: str | Path, predictions: str | Path, settings: EvaluationSettings, part: str | None = None,
                    progress: Callable[[VideoResult], None] | None = None) -> EvaluationResult:
    """Score the submission folder `predictions` on the `part` (default public_test) of the challenge root `data`.

    Raises:
        InputError / DatasetError: see `find_submission` and the module docstring (before any frame is scored for
            the folders, split and files; a video's frames as it is scored).
    """
    unknown = [name for name in settings.metrics if name not in CHALLENGE_METRICS]
    if unknown:
        raise InputError(f"the challenge protocol scores {', '.join(CHALLENGE_METRICS)}, not {', '.join(unknown)}")
    if not Path(data).is_dir() or not is_challenge_root(data):
        raise InputError(f"{data}: not a challenge root (Videos/ and TrainTestSplit.json); the challenge protocol "
                         "scores the AIM 2024 / NTIRE 2026 layout")
    videos = find_submission(data, predictions, part or CHALLENGE_DEFAULT_PART)
    for video in videos:  # every fixation list is checked before the long part
        read_fixations(video.fixations)

    def score(video: SubmissionVideo) -> VideoResult:
        result = score_video(video)
        if progress is not None:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=settings.workers) as pool:
        results = list(pool.map(score, videos))
    units = [EvaluationUnit(GroundTruthVideo(_record(video), tuple(range(1, result.frames + 1))), None)
             for video, result in zip(videos, results)]
    benchmark = Benchmark(Path(data), "challenge", units, {})
    if str(predictions) == CENTER_PRIOR:
        source = {"source": CENTER_PRIOR, "sigma_fraction": list(DEFAULT_SIGMA_FRACTION),
                  "levels": "8-bit, as a submission of it holds it"}
    else:
        source = {"folder": str(Path(predictions)), "files": "<video>.<any video format> (a challenge submission)"}
    source["part"] = part or CHALLENGE_DEFAULT_PART
    return EvaluationResult(benchmark, source, settings, {"variant": "not used"}, results)


def _record(video: SubmissionVideo) -> VideoRecord:
    return VideoRecord(dataset=CHALLENGE_NAME, video=video.name, fps=0.0, num_frames=0, frames=str(video.prediction or CENTER_PRIOR),
                       frame_pattern=None, maps=str(video.map_video), fixations=str(video.fixations))
