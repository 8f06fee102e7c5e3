"""Turning what a caller passes (numpy arrays, torch tensors, lists) into checked 2-D numpy maps."""

from __future__ import annotations

from typing import Any

import numpy as np

from diffsal.errors import InputError


def as_map(value: Any, name: str) -> np.ndarray:
    """A `(H, W)` numpy view of `value`; leading singleton axes (`(1, H, W)`, `(1, 1, H, W)`) are dropped.

    torch tensors are accepted (any device, any floating dtype) without importing torch here.
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        tensor = value.detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.double()  # numpy has no bfloat16
        value = tensor.numpy()
    array = np.asarray(value)
    while array.ndim > 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise InputError(f"{name} must be a 2-D map (H, W), got shape {tuple(np.shape(value))}")
    if array.size == 0:
        raise InputError(f"{name} is empty (shape {array.shape})")
    if array.dtype.kind not in "biuf":
        raise InputError(f"{name} must be numeric, got dtype {array.dtype}")
    return array


def as_saliency(value: Any, name: str = "prediction") -> np.ndarray:
    """A finite float64 `(H, W)` map. NaN or inf anywhere is an error: no metric is defined on it."""
    array = as_map(value, name).astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise InputError(f"{name} contains {bad} NaN or inf value(s)")
    return array


def as_fixations(value: Any, name: str = "fixation map") -> np.ndarray:
    """A bool `(H, W)` map, True at fixated pixels (any non-zero value counts as a fixation)."""
    array = as_map(value, name)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise InputError(f"{name} contains NaN or inf value(s)")
    return array != 0


def check_same_shape(prediction: np.ndarray, reference: np.ndarray, reference_name: str) -> None:
    if prediction.shape != reference.shape:
        raise InputError(
            f"shape mismatch: prediction {prediction.shape} vs {reference_name} {reference.shape}; "
            "resize the prediction first (diffsal.metrics.resize_bicubic, or post-processing with resize)"
        )
