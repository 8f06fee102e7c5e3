"""Location-based metrics as the MIT saliency benchmark defines them: AUC-Judd, AUC-Borji, shuffled AUC.

All three min-max normalise the prediction first (a constant prediction gives NaN, except that
AUC-Judd's jitter makes it random with mean 0.5) and give NaN for a frame without fixations.

AUC-Borji and sAUC sweep the thresholds 0:step:1 (descending) over the fixated pixels (positives)
and sampled negatives, once per split, and average the areas. The area of a split depends on its
negatives only through how many of them fall between consecutive thresholds, so instead of drawing
pixel positions we draw those counts directly: a multinomial draw for Borji (uniform pixels, with
replacement, as MATLAB's ``randi``) and a multivariate hypergeometric draw for sAUC (pixels of the
other map, without replacement, as ``randperm``). The scores have exactly the distribution of the
reference code; only the random stream differs (it differs from MATLAB's anyway). Thresholds above
the largest sampled value, which MATLAB leaves out, add only (0, 0) points and no area.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from diffsal.errors import InputError
from diffsal.metrics._inputs import as_fixations, as_saliency, check_same_shape


def make_rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A Generator from a seed; None means seed 0, so that scores are reproducible by default."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


def auc_judd(prediction: Any, fixations: Any, *, jitter: bool = True,
             rng: int | np.random.Generator | None = None) -> float:
    """AUC-Judd: thresholds are the prediction's values at the fixations; negatives are all other pixels.

    With `jitter` (the benchmark default) U(0, 1) * 1e-7 is added to break ties before min-max.
    """
    p = as_saliency(prediction)
    f = as_fixations(fixations)
    check_same_shape(p, f, "fixation map")
    return auc_judd_unchecked(p, f, jitter=jitter, rng=make_rng(rng))


def auc_borji(prediction: Any, fixations: Any, *, n_splits: int = 100, step: float = 0.1,
              rng: int | np.random.Generator | None = None, min_fixations: int = 2) -> float:
    """AUC-Borji: per split, as many uniformly random pixels (with replacement) as fixations are negatives.

    NaN with fewer than `min_fixations` fixated pixels: MATLAB's ``AUC_Borji.m`` needs two.
    """
    p = as_saliency(prediction)
    f = as_fixations(fixations)
    check_same_shape(p, f, "fixation map")
    check_split_options(n_splits, step)
    normalised = min_max_or_none(p)
    if normalised is None or not f.any() or np.count_nonzero(f) < min_fixations:
        return float("nan")
    return auc_borji_binned(normalised, f, n_splits=n_splits, step=step, rng=make_rng(rng))


def auc_shuffled(prediction: Any, fixations: Any, other_map: Any, *, n_splits: int = 100, step: float = 0.1,
                 rng: int | np.random.Generator | None = None) -> float:
    """Shuffled AUC: negatives are min(#fixations, #other) pixels of `other_map`, without replacement.

    `other_map` is a binary map of fixations from elsewhere (other frames or other videos); see
    `diffsal.evaluation.other_maps` for the variants. An empty other map gives NaN.
    """
    p = as_saliency(prediction)
    f = as_fixations(fixations)
    other = as_fixations(other_map, "sAUC other map")
    check_same_shape(p, f, "fixation map")
    check_same_shape(other, f, "fixation map")
    check_split_options(n_splits, step)
    normalised = min_max_or_none(p)
    if normalised is None or not f.any():
        return float("nan")
    return auc_shuffled_binned(normalised, f, other, n_splits=n_splits, step=step, rng=make_rng(rng))


def auc_judd_unchecked(p: np.ndarray, f: np.ndarray, *, jitter: bool, rng: np.random.Generator) -> float:
    if not f.any():
        return float("nan")
    if jitter:
        values = rng.random(p.shape)
        values *= 1e-7
        values += p
    else:
        values = p.astype(np.float64, copy=True)
    low = values.min()
    high = values.max()
    if high == low:
        return float("nan")
    values -= low
    values /= high - low
    values = values.ravel()
    thresholds = np.sort(values[f.ravel()])[::-1]
    n_fixations = thresholds.size
    n_pixels = values.size
    # #pixels >= each threshold: only pixels at or above the lowest threshold can count, so sort
    # just those (with a good prediction, a small part of the frame).
    candidates = np.sort(values[values >= thresholds[-1]])
    above = candidates.size - np.searchsorted(candidates, thresholds, side="left")
    rank = np.arange(1, n_fixations + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tp = np.concatenate(([0.0], rank / n_fixations, [1.0]))
        fp = np.concatenate(([0.0], (above - rank) / (n_pixels - n_fixations), [1.0]))
    return _trapezoid(tp, fp)


def min_max_or_none(x: np.ndarray) -> np.ndarray | None:
    """(x - min) / (max - min), or None for a constant map (MATLAB gives all-NaN there)."""
    low = x.min()
    high = x.max()
    if high == low:
        return None
    return (x - low) / (high - low)


def sweep_thresholds(step: float) -> np.ndarray:
    """0:step:1 ascending, as k * step (MATLAB's colon operator up to the last bit)."""
    count = int(np.floor(1.0 / step + 1e-9))
    return np.arange(count + 1, dtype=np.float64) * step


def at_or_above(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """`(K,)` number of `values` >= each of the `(K,)` ascending thresholds."""
    if values.size > 4096:  # a few comparisons per threshold beat sorting a whole map
        return np.array([np.count_nonzero(values >= threshold) for threshold in thresholds])
    return values.size - np.searchsorted(np.sort(values), thresholds, side="left")


def auc_borji_binned(normalised: np.ndarray, f: np.ndarray, *, n_splits: int, step: float,
                     rng: np.random.Generator) -> float:
    """Borji AUC of a min-max normalised map with at least one fixation."""
    thresholds = sweep_thresholds(step)
    values = normalised.ravel()
    positives = at_or_above(values[f.ravel()], thresholds)
    pixels = at_or_above(values, thresholds)
    negatives = _cumulate(rng.multinomial(int(positives[0]), _per_bin(pixels, values.size) / values.size,
                                          size=n_splits))
    return float(_sweep_auc(positives, negatives).mean())


def auc_shuffled_binned(normalised: np.ndarray, f: np.ndarray, other: np.ndarray, *, n_splits: int, step: float,
                        rng: np.random.Generator) -> float:
    """Shuffled AUC of a min-max normalised map with at least one fixation; NaN for an empty other map."""
    thresholds = sweep_thresholds(step)
    values = normalised.ravel()
    positives = at_or_above(values[f.ravel()], thresholds)
    other_values = values[other.ravel()]
    n_negatives = min(int(positives[0]), other_values.size)
    if n_negatives == 0:
        return float("nan")
    per_bin = _per_bin(at_or_above(other_values, thresholds), other_values.size)
    negatives = _cumulate(rng.multivariate_hypergeometric(per_bin, n_negatives, size=n_splits))
    return float(_sweep_auc(positives, negatives).mean())


def _per_bin(at_or_above_counts: np.ndarray, total: int) -> np.ndarray:
    """Counts per bin from counts at or above each threshold; bin 0 is below the first threshold."""
    return -np.diff(np.concatenate(([total], at_or_above_counts, [0])))


def _cumulate(per_bin: np.ndarray) -> np.ndarray:
    """Inverse of `_per_bin` for `(S, K + 1)` rows: `(S, K)` counts at or above each threshold."""
    return np.cumsum(per_bin[:, ::-1], axis=1)[:, ::-1][:, 1:]


def _sweep_auc(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """Areas under the ROC curves swept through descending thresholds.

    `positives` `(K,)` and `negatives` `(S, K)` count the samples at or above each ascending
    threshold; the first threshold (0) is reached by every sample. Returns `(S,)` areas.
    """
    splits = negatives.shape[0]
    tp = np.concatenate(([0.0], positives[::-1] / positives[0], [1.0]))
    fp = np.concatenate((np.zeros((splits, 1)), negatives[:, ::-1] / negatives[:, :1], np.ones((splits, 1))),
                        axis=1)
    return ((fp[:, 1:] - fp[:, :-1]) * (tp[1:] + tp[:-1])).sum(axis=1) / 2.0


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    return float(((x[1:] - x[:-1]) * (y[1:] + y[:-1])).sum() / 2.0)


def check_split_options(n_splits: int, step: float) -> None:
    if int(n_splits) != n_splits or n_splits < 1:
        raise InputError(f"n_splits must be a positive integer, got {n_splits!r}")
    if not 0 < step <= 1:
        raise InputError(f"threshold step must be in (0, 1], got {step!r}")
