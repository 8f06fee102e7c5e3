"""Prediction sources for `evaluate`: a folder of per-frame maps (configurable naming) or the centre prior.

A folder pattern is a Python format string relative to the prediction root with the fields
``{db}``, ``{db_lower}``, ``{video}``, ``{frame}`` (1-based, format spec allowed) and ``{split}``
(the fold whose model made the prediction; STAViS layout only). Two presets:

- ``default``: ``{db}/{video}/{frame:05d}.png``, one image per frame;
- ``published``: ``{db}/{video}/pred_sal_{frame:06d}.jpg``, the naming of the published code.

Images (PNG/JPEG/...) are read as grey in [0, 1] (RGB: first channel, as STAViS does); ``.npy``
files hold a float `(H, W)` map, which must be finite.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from diffsal.errors import InputError
from diffsal.evaluation.center_prior import DEFAULT_SIGMA_FRACTION, center_prior
from diffsal.evaluation.layouts import EvaluationUnit
from diffsal.io.paths import check_input_path

NAMING_PRESETS = {
    "default": "{db}/{video}/{frame:05d}.png",
    "published": "{db}/{video}/pred_sal_{frame:06d}.jpg",
}
PATTERN_FIELDS = ("db", "db_lower", "video", "frame", "split")
CENTER_PRIOR = "center-prior"


class FolderPredictions:
    """Per-frame predicted maps under `root`, named by `pattern` (a preset name or a format string)."""

    postprocess = True  # model outputs get the protocol's post-processing

    def __init__(self, root: str | Path, pattern: str = "default") -> None:
        self.root = check_input_path(root, "prediction folder")
        if not self.root.is_dir():
            raise InputError(f"{self.root}: not a folder (expected the prediction folder)")
        self.pattern = NAMING_PRESETS.get(pattern, pattern)
        self.uses_split = "split" in _pattern_fields(self.pattern)
        try:
            self.pattern.format(db="DB", db_lower="db", video="video", frame=1, split=1)
        except (ValueError, IndexError, KeyError) as error:
            raise InputError(f"prediction pattern {self.pattern!r} is not a valid format string ({error})") from error
        if "frame" not in _pattern_fields(self.pattern):
            raise InputError(f"prediction pattern {self.pattern!r} must contain {{frame}}")

    def path(self, unit: EvaluationUnit, frame: int) -> Path:
        if self.uses_split and unit.split is None:
            raise InputError(f"prediction pattern {self.pattern!r} uses {{split}}, but {unit.database} has no splits")
        name = self.pattern.format(db=unit.database, db_lower=unit.database.lower(), video=unit.video,
                                   frame=frame, split=unit.split)
        return self.root / name

    def load(self, unit: EvaluationUnit, frame: int, shape: tuple[int, int]) -> np.ndarray | None:
        """The `(h, w)` prediction of `frame`, or None when its file does not exist."""
        path = self.path(unit, frame)
        if not path.is_file():
            return None
        return read_prediction(path)

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

    def load(self, unit: EvaluationUnit, frame: int, shape: tuple[int, int]) -> np.ndarray:
        return center_prior(shape, self.sigma_fraction)

    def describe(self) -> dict:
        return {"source": CENTER_PRIOR, "sigma_fraction": list(self.sigma_fraction), "postprocess": False}


def prediction_source(spec: str | Path, pattern: str = "default") -> FolderPredictions | CenterPriorPredictions:
    """`center-prior` or a prediction folder."""
    if str(spec) == CENTER_PRIOR:
        return CenterPriorPredictions()
    return FolderPredictions(spec, pattern)


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
