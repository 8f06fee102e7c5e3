"""Reading and writing ground-truth maps: continuous saliency maps and binary fixation maps.

STAViS: JPEG eyeMaps (8-bit continuous map) and MAT fixMaps (MAT variable ``eyeMap``, non-zero at
fixated pixels). DHF1K: PNG maps and fixation maps. Their file names: `diffsal.data.layout`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image, UnidentifiedImageError

from diffsal.errors import DatasetError

FIXATION_MAT_VARIABLE = "eyeMap"


def read_saliency_map(path: str | Path) -> np.ndarray:
    """An 8-bit grey (or RGB, averaged) image as float32 `(H, W)` in [0, 1]."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            grey = np.asarray(image.convert("L"), dtype=np.float32)
    except FileNotFoundError as error:
        raise DatasetError(f"{path}: saliency map missing") from error
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DatasetError(f"{path}: corrupt or unreadable image ({error})") from error
    return grey / 255.0


def read_fixation_map(path: str | Path) -> np.ndarray:
    """A binary fixation map as bool `(H, W)`, from a STAViS ``.mat`` or a DHF1K-style image."""
    return read_fixation_values(path) != 0


def read_fixation_values(path: str | Path) -> np.ndarray:
    """A fixation map's values `(H, W)` as stored: the ``.mat`` variable, or an image's grey levels / 255.

    Fixated pixels are the non-zero ones; some files store them as values other than 1, which
    MATLAB evaluation code treats differently from ones (see `diffsal.evaluation.protocol`).
    """
    path = Path(path)
    if path.suffix.lower() != ".mat":
        if not path.exists():
            raise DatasetError(f"{path}: fixation map missing")
        return read_saliency_map(path)
    if not path.is_file():  # scipy reports a missing file as a TypeError
        raise DatasetError(f"{path}: fixation map missing")
    try:
        contents = scipy.io.loadmat(path)
    except FileNotFoundError as error:
        raise DatasetError(f"{path}: fixation map missing") from error
    except (ValueError, TypeError, OSError, NotImplementedError, scipy.io.matlab.MatReadError) as error:
        raise DatasetError(f"{path}: corrupt or unreadable MAT file ({error})") from error
    if FIXATION_MAT_VARIABLE not in contents:
        names = sorted(key for key in contents if not key.startswith("__"))
        raise DatasetError(f"{path}: no MAT variable {FIXATION_MAT_VARIABLE!r} (found {names})")
    fixations = np.asarray(contents[FIXATION_MAT_VARIABLE])
    if fixations.ndim != 2:
        raise DatasetError(f"{path}: {FIXATION_MAT_VARIABLE!r} must be 2-D, got shape {fixations.shape}")
    if fixations.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: {FIXATION_MAT_VARIABLE!r} must be numeric, got {fixations.dtype}")
    return fixations


def write_fixation_mat(path: str | Path, fixations: np.ndarray) -> None:
    """Write a binary `(H, W)` map as a STAViS ``fixMap`` MAT file (variable ``eyeMap``, uint8)."""
    scipy.io.savemat(path, {FIXATION_MAT_VARIABLE: np.asarray(fixations != 0, dtype=np.uint8)}, do_compression=True)


def write_saliency_map(path: str | Path, saliency: np.ndarray) -> None:
    """Write a `(H, W)` map in [0, 1] (or uint8) as an 8-bit grey image; the suffix picks the format."""
    saliency = np.asarray(saliency)
    if saliency.dtype != np.uint8:
        saliency = np.clip(np.round(saliency * 255.0), 0, 255).astype(np.uint8)
    options = {"quality": 95} if Path(path).suffix.lower() in (".jpg", ".jpeg") else {}
    Image.fromarray(saliency).save(path, **options)
