"""The metrics of the AIM 2024 / NTIRE 2026 saliency challenges on one frame, as their scoring script computes
them (its own formulas, not the MIT benchmark's: `diffsal.metrics.saliency_metrics`), with its reading and
resizing of the maps. Every quirk is kept; `docs/evaluation.md` lists them.

- A map is read as stored in an extracted PNG (8 or 16 bits, grey or RGB), its channels averaged, then min-max
  normalised with float32's epsilon in the denominator, in float64.
- The prediction is resized to the ground truth's size bilinearly, as OpenCV's `resize` does by default
  (`resize_bilinear`), and not normalised again.
- CC and SIM compare the prediction with the continuous map; NSS and AUC-Judd use the fixation list of the frame
  (``(row, col)`` pairs; a pixel fixated twice counts twice).
"""

from __future__ import annotations

import numpy as np

FLOAT32_EPS = float(np.finfo(np.float32).eps)  # the reading's min-max denominator term
STD_EPS = 1e-7  # added to every standard deviation and sum


def read_map(picture: np.ndarray) -> np.ndarray:
    """An extracted map (uint8 / uint16, `(H, W)` or `(H, W, C)`) as float64 `(H, W)` in [0, 1]: channels
    averaged, then (x - min) / (max - min + float32 eps); a constant map becomes all zeros."""
    values = picture.mean(axis=2) if picture.ndim == 3 else picture.astype(np.float64)
    return (values - values.min()) / (values.max() - values.min() + FLOAT32_EPS)


def resize_bilinear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float64 `(H, W)` -> `(height, width)` = `size[::-1]` as OpenCV's bilinear `resize` of a float64 image
    computes it in the pip wheels (their IPP code path, within 1e-14): sample positions (d + 0.5) * scale - 0.5,
    clamped at the borders to the edge pixel, weights in float64, the rows interpolated first, then the
    columns. (OpenCV without IPP rounds positions and weights to float32: values move by up to 2e-6.)"""
    width, height = size
    if image.shape == (height, width):
        return image.copy()
    rows, row_weights = _taps(image.shape[0], height)
    cols, col_weights = _taps(image.shape[1], width)
    across = image[:, cols[0]] * col_weights[0] + image[:, cols[1]] * col_weights[1]
    return across[rows[0]] * row_weights[0][:, None] + across[rows[1]] * row_weights[1][:, None]


def _taps(source: int, target: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The two source indices and weights of each target position along one axis."""
    scale = 1.0 / (target / source)
    position = (np.arange(target) + 0.5) * scale - 0.5
    first = np.floor(position).astype(np.int64)
    fraction = position - first
    fraction[(first < 0) | (first >= source - 1)] = 0.0
    first = np.clip(first, 0, source - 1)
    second = np.minimum(first + 1, source - 1)
    return (first, second), (1.0 - fraction, fraction)


def _standardised(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + STD_EPS)


def cc(prediction: np.ndarray, saliency: np.ndarray) -> float:
    """Sum of the products of the standardised maps over the root of the product of their sums of squares
    (+ 1e-7 under the root)."""
    a, b = _standardised(prediction), _standardised(saliency)
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + STD_EPS))


def sim(prediction: np.ndarray, saliency: np.ndarray) -> float:
    """Each map divided by its sum (+ 1e-7), then the sum of their pixel-wise minimum."""
    return float(np.minimum(prediction / (prediction.sum() + STD_EPS), saliency / (saliency.sum() + STD_EPS)).sum())


def nss(prediction: np.ndarray, fixations: np.ndarray) -> float:
    """The mean of the standardised prediction over the `(N, 2)` (row, col) fixations, repeats included."""
    return float(_standardised(prediction)[fixations[:, 0], fixations[:, 1]].mean())


def auc_judd(prediction: np.ndarray, fixations: np.ndarray) -> float:
    """AUC-Judd as the challenges compute it: the map's values at the N fixations are the thresholds (highest
    first, repeats kept, no tie jitter); at each, the true-positive rate is k / N and the false-positive rate
    (pixels >= threshold, less k) / (possible - N), where possible = pixels + N - U and U counts the distinct
    *columns* of the N x 2 fixation array (1 or 2: the script's ``np.unique(F, axis=1)``); the curve from (0, 0)
    to (1, 1) is integrated by the trapezoid rule."""
    values = prediction[fixations[:, 0], fixations[:, 1]]
    count = len(values)
    distinct_columns = np.unique(fixations, axis=1).shape[1]
    possible = prediction.size + (count - distinct_columns)
    thresholds = np.sort(values)[::-1]
    ordered = np.sort(prediction, axis=None)
    above = ordered.size - np.searchsorted(ordered, thresholds, side="left")
    ranks = np.arange(1, count + 1)
    true_positive = np.concatenate(([0.0], ranks / count, [1.0]))
    false_positive = np.concatenate(([0.0], (above - ranks) / (possible - count), [1.0]))
    return float(np.sum(np.diff(false_positive) * (true_positive[1:] + true_positive[:-1]) / 2.0))


CHALLENGE_METRICS = ("CC", "SIM", "NSS", "AUC-J")


def score_frame(prediction: np.ndarray, saliency: np.ndarray, fixations: np.ndarray) -> dict[str, float]:
    """The four challenge metrics of one frame: `prediction` and `saliency` as `read_map` gives them, the
    prediction already at the map's size; `fixations` `(N, 2)` (row, col), N >= 1, inside the map."""
    return {"CC": cc(prediction, saliency), "SIM": sim(prediction, saliency), "NSS": nss(prediction, fixations),
            "AUC-J": auc_judd(prediction, fixations)}
