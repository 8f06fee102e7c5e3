"""Ground-truth maps brought to the clip's frame size, the way ClipReader places the frames."""

from __future__ import annotations

import numpy as np
from PIL import Image

from diffsal.io.clip import FrameGeometry


def resize_saliency(saliency: np.ndarray, geometry: FrameGeometry) -> np.ndarray:
    """Continuous map float32 `(H0, W0)` -> `(H, W)` of the clip frames (bilinear, area-aware when shrinking)."""
    left, top, width, height = geometry.content
    out = np.zeros(geometry.out_size, dtype=np.float32)
    image = Image.fromarray(np.asarray(saliency, dtype=np.float32), mode="F")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    out[top : top + height, left : left + width] = np.asarray(image, dtype=np.float32)
    return out


def resize_fixations(fixations: np.ndarray, geometry: FrameGeometry) -> np.ndarray:
    """Binary map `(H0, W0)` -> float32 `(H, W)` of 0/1: each fixated pixel moves to the clip pixel
    that covers it, so no fixation is lost (interpolating would smear or drop them)."""
    left, top, width, height = geometry.content
    source_height, source_width = fixations.shape
    rows, cols = np.nonzero(fixations)
    out = np.zeros(geometry.out_size, dtype=np.float32)
    out_rows = top + np.minimum(((rows + 0.5) * height / source_height).astype(np.int64), height - 1)
    out_cols = left + np.minimum(((cols + 0.5) * width / source_width).astype(np.int64), width - 1)
    out[out_rows, out_cols] = 1.0
    return out
