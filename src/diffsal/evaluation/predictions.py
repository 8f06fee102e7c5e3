"""Prediction sources for `evaluate`: per-frame maps or one map video per input (configurable naming), or the
centre prior.

A pattern is a Python format string relative to the prediction root with the fields ``{db}``, ``{db_lower}``,
``{db_stavis}`` (the database's folder in the STAViS MATLAB tree: avad, coutrot1, ...), ``{video}``, ``{key}``
(the video's folder under `diffsal predict`'s OUT: ``{db}/{video}``, on a challenge root ``{video}``), ``{frame}``
(1-based, format spec allowed) and ``{split}`` (the fold whose model made the prediction; STAViS layout only).
A pattern without ``{frame}`` that names a video file (.mp4, .avi, ...) holds every map of a video, frame k of the
video the map of frame k. Presets, one per `diffsal predict --format` and one for the published code:

- ``default``: ``{key}/{frame:05d}.png`` (``--format png``);
- ``stavis``: ``split{split}_results/{db_stavis}/{video}/pred_sal_{frame:06d}.jpg`` (``--format stavis`` on a
  STAViS dataset: the tree the MATLAB evaluation reads);
- ``mp4``: ``{key}/saliency.mp4`` (``--format mp4``: the luma plane of each frame is the map);
- ``challenge``: ``{key}.mp4`` (``--format challenge``: on a challenge root, the submission);
- ``published``: ``{db}/{video}/pred_sal_{frame:06d}.jpg``, the naming of the published code (and of
  ``--format stavis`` on other inputs).

`default_pattern` picks the preset of the format `diffsal predict` recorded in the folder's
``predict_summary.json``. Images (PNG/JPEG/...) are read as grey in [0, 1] (RGB: first channel, as STAViS does);
``.npy`` files hold a float `(H, W)` map, which must be finite.
"""

from __future__ import annotations

import json
import string
import threading
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from diffsal.data.layout import VIDEO_SUFFIXES, output_key, stavis_result_folder
from diffsal.errors import InputError
from diffsal.evaluation.center_prior import DEFAULT_SIGMA_FRACTION, center_prior
from diffsal.evaluation.layouts import EvaluationUnit
from diffsal.predictions.folder import RUN_SUMMARY_NAME
from diffsal.io.paths import check_input_path
from diffsal.io.video import VideoReader

NAMING_PRESETS = {
    "default": "{key}/{frame:05d}.png",
    "stavis": "split{split}_results/{db_stavis}/{video}/pred_sal_{frame:06d}.jpg",
    "mp4": "{key}/saliency.mp4",
    "challenge": "{key}.mp4",
    "published": "{db}/{video}/pred_sal_{frame:06d}.jpg",
}
# `diffsal predict --format` -> preset
FORMAT_PRESETS = {"png": "default", "stavis": "stavis", "mp4": "mp4", "challenge": "challenge"}
PATTERN_FIELDS = ("db", "db_lower", "db_stavis", "video", "key", "frame", "split")
CENTER_PRIOR = "center-prior"
VIDEO_FRAMES_CACHED = 2  # a prediction video is read in order


class FolderPredictions:
    """Predicted maps under `root`, named by `pattern` (a preset name or a format string): one file per frame, or
    one video per input when the pattern names a video file and has no ``{frame}``."""

    postprocess = True  # model outputs get the protocol's post-processing

    def __init__(self, root: str | Path, pattern: str = "default") -> None:
        self.root = check_input_path(root, "prediction folder")
        if not self.root.is_dir():
            raise InputError(f"{self.root}: not a folder (expected the prediction folder)")
        self.pattern = NAMING_PRESETS.get(pattern, pattern)
        fields = _pattern_fields(self.pattern)
        self.uses_split = "split" in fields
        try:
            example = self.pattern.format(db="DB", db_lower="db", db_stavis="db", video="video", key="DB/video",
                                          frame=1, split=1)
        except (ValueError, IndexError, KeyError) as error:
            raise InputError(f"prediction pattern {self.pattern!r} is not a valid format string ({error})") from error
        self.is_video = "frame" not in fields and Path(example).suffix.lower() in VIDEO_SUFFIXES
        if "frame" not in fields and not self.is_video:
            raise InputError(f"prediction pattern {self.pattern!r} must contain {{frame}} or name a video file "
                             f"({', '.join(VIDEO_SUFFIXES)})")
        self._videos = threading.local()  # per scoring thread: the map video being read

    def path(self, unit: EvaluationUnit, frame: int) -> Path:
        """The file that holds the prediction of `frame` (for a map video: the video)."""
        if self.uses_split and unit.split is None:
            raise InputError(f"prediction pattern {self.pattern!r} uses {{split}}, but {unit.database} has no splits")
        name = self.pattern.format(db=unit.database, db_lower=unit.database.lower(),
                                   db_stavis=stavis_result_folder(unit.database), video=unit.video,
                                   key=output_key(unit.database, unit.video), frame=frame, split=unit.split)
        return self.root / name

    def missing_frames(self, unit: EvaluationUnit) -> set[int]:
        """The frames of `unit`'s ground truth that have no prediction: no file, or past the end of the map video."""
        frames = unit.ground_truth.frames
        if self.is_video:
            path = self.path(unit, frames[0])
            if not path.is_file():
                return set(frames)
            with VideoReader(path) as video:
                available = video.num_frames
            return {frame for frame in frames if frame > available}
        return {frame for frame in frames if not self.path(unit, frame).is_file()}

    def label(self, unit: EvaluationUnit, frame: int) -> str:
        """The prediction of `frame` in words: its file, or the map video and the frame."""
        path = self.path(unit, frame)
        return f"{path} frame {frame}" if self.is_video else str(path)

    def load(self, unit: EvaluationUnit, frame: int, shape: tuple[int, int]) -> np.ndarray | None:
        """The `(h, w)` prediction of `frame`, or None when its file (or its frame of the video) does not exist."""
        path = self.path(unit, frame)
        if not path.is_file():
            return None
        if self.is_video:
            return self._video_frame(path, frame)
        return read_prediction(path)

    def _video_frame(self, path: Path, frame: int) -> np.ndarray | None:
        """Frame `frame` (1-based) of the map video `path` as float64 in [0, 1] (`VideoReader.luma_map`: any bit
        depth and range), or None past its end. Each scoring thread keeps its video open: a video's frames are
        scored in order, in one thread, so each is decoded once."""
        state = self._videos
        if getattr(state, "path", None) != path:
            if getattr(state, "reader", None) is not None:
                state.reader.close()
            state.path, state.reader = path, VideoReader(path, cache_frames=VIDEO_FRAMES_CACHED)
        if frame > state.reader.num_frames:
            return None
        return state.reader.luma_map(frame - 1, np.float64)

    def describe(self) -> dict:
        return {"source": "folder", "root": str(self.root), "pattern": self.pattern}


class CenterPriorPredictions:
    """The centre-prior baseline as a prediction source: the same map for every frame, at ground-truth size.

    It is made at the ground-truth size and is already smooth, so it is scored as it is (no
    post-processing); it is also the baseline of IG, whose score for it is therefore 0.
    """

    uses_split = False
    postprocess = False

    def __init__(self, sigma_fraction: tuple[float, float] = DEFAULT_SIGMA_FRACTION) -> None:
        self.sigma_fraction = sigma_fraction

    def path(self, unit: EvaluationUnit, frame: int) -> None:
        return None

    def missing_frames(self, unit: EvaluationUnit) -> set[int]:
        return set()

    def label(self, unit: EvaluationUnit, frame: int) -> str:
        return f"{unit.database}/{unit.video} frame {frame}"

    def load(self, unit: EvaluationUnit, frame: int, shape: tuple[int, int]) -> np.ndarray:
        return center_prior(shape, self.sigma_fraction)

    def describe(self) -> dict:
        return {"source": CENTER_PRIOR, "sigma_fraction": list(self.sigma_fraction), "postprocess": False}


def prediction_source(spec: str | Path, pattern: str | None = None) -> FolderPredictions | CenterPriorPredictions:
    """`center-prior` or a prediction folder (`pattern` None: `default_pattern` of the folder)."""
    if str(spec) == CENTER_PRIOR:
        return CenterPriorPredictions()
    return FolderPredictions(spec, default_pattern(spec) if pattern is None else pattern)


def default_pattern(root: str | Path) -> str:
    """The preset of the map format `diffsal predict` recorded in ``root/predict_summary.json`` (its run
    signature), "default" when there is none."""
    try:
        document = json.loads((Path(root) / RUN_SUMMARY_NAME).read_text())
        recorded = document.get("signature", {}).get("map_format", "png")
    except (OSError, ValueError, AttributeError):
        return "default"
    return FORMAT_PRESETS.get(recorded, "default")


def read_prediction(path: str | Path) -> np.ndarray:
    """A predicted map as float64 `(H, W)`; InputError naming the file if it is unusable."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise InputError(f"{path}: unreadable .npy prediction ({error})") from error
        array = np.squeeze(np.asarray(array))
        if array.ndim != 2 or array.dtype.kind not in "biuf":
            raise InputError(f"{path}: prediction must be a numeric 2-D map, got {array.dtype} {array.shape}")
        array = array.astype(np.float64)
    else:
        try:
            with Image.open(path) as image:
                image.load()
                array = _image_to_map(image)
        except FileNotFoundError as error:
            raise InputError(f"{path}: prediction missing") from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise InputError(f"{path}: corrupt or unreadable prediction image ({error})") from error
    if not np.isfinite(array).all():
        raise InputError(f"{path}: prediction contains NaN or inf values")
    return array


def _image_to_map(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(image, dtype=np.float64) / 65535.0
    if image.mode in ("I", "F"):
        return np.asarray(image, dtype=np.float64)
    if image.mode not in ("L", "1"):
        image = image.convert("RGB").getchannel(0)
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def _pattern_fields(pattern: str) -> set[str]:
    fields = set()
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as error:
        raise InputError(f"prediction pattern {pattern!r} is not a valid format string ({error})") from error
    for _, field, _, _ in parsed:
        if field is None:
            continue
        name = field.split(".")[0].split("[")[0]
        if name not in PATTERN_FIELDS:
            raise InputError(f"prediction pattern {pattern!r}: unknown field {{{name}}}; "
                             f"use {', '.join('{' + known + '}' for known in PATTERN_FIELDS)}")
        fields.add(name)
    return fields
