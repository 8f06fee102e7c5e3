"""Distribution-based saliency metrics as the MIT saliency benchmark defines them: CC, NSS, SIM, KLD, IG.

P is the predicted map, G the continuous ground-truth map, F the binary fixation map, all `(H, W)`
and of the same shape (resizing is a post-processing step, never done silently here). Where the
MATLAB reference divides zero by zero (a constant map, no fixations) the score is NaN.

Each public function checks and converts its inputs; the ``*_unchecked`` kernels take float64 /
bool arrays that are already checked, so that `score_frame` validates a frame once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from diffsal.metrics._inputs import as_fixations, as_saliency, check_same_shape

# MATLAB's `eps` (2^-52), which KLdiv.m and InfoGain.m call: where P is exactly 0 and G is not, the
# KLD term is G log(G / eps), so a rounded constant (2.2204e-16) moves KLD by about 1e-5 per video.
EPS = float(np.finfo(np.float64).eps)


def cc(prediction: Any, saliency: Any) -> float:
    """Pearson correlation coefficient between P and G (MATLAB ``corr2`` of the standardised maps)."""
    p = as_saliency(prediction)
    g = as_saliency(saliency, "ground-truth saliency map")
    check_same_shape(p, g, "ground-truth saliency map")
    return cc_unchecked(p, g)


def nss(prediction: Any, fixations: Any) -> float:
    """Normalised scanpath saliency: mean of (P - mean P) / std P (N-1 std) over fixated pixels."""
    p = as_saliency(prediction)
    f = as_fixations(fixations)
    check_same_shape(p, f, "fixation map")
    return nss_unchecked(p, f)


def sim(prediction: Any, saliency: Any) -> float:
    """Similarity (histogram intersection) of the min-max normalised, sum-normalised P and G."""
    p = as_saliency(prediction)
    g = as_saliency(saliency, "ground-truth saliency map")
    check_same_shape(p, g, "ground-truth saliency map")
    return sim_unchecked(p, g)


def kld(prediction: Any, saliency: Any, *, clip_negative: bool = False) -> float:
    """KL divergence of P from G, both divided by their sums: sum G log(eps + G / (P + eps)).

    Where P is slightly negative (the overshoot of a bicubic resize next to zero areas) the log's
    argument can be negative: MATLAB's ``KLdiv.m`` then returns a complex number whose real part the
    tables report, ``G log|eps + G / (P + eps)|``, which is what this computes. `clip_negative`
    clips P at 0 first instead, so the argument is never negative.
    """
    p = as_saliency(prediction)
    g = as_saliency(saliency, "ground-truth saliency map")
    check_same_shape(p, g, "ground-truth saliency map")
    return kld_unchecked(np.maximum(p, 0.0) if clip_negative else p, g)


def information_gain(prediction: Any, fixations: Any, baseline: Any) -> float:
    """Information gain of P over a baseline map B, in bits per fixation.

    Both maps are min-max normalised and divided by their sums; the score is the mean over
    fixated pixels of log2(eps + P) - log2(eps + B).
    """
    p = as_saliency(prediction)
    f = as_fixations(fixations)
    b = as_saliency(baseline, "baseline map")
    check_same_shape(p, f, "fixation map")
    check_same_shape(b, f, "fixation map")
    return information_gain_unchecked(p, f, b)


def cc_unchecked(p: np.ndarray, g: np.ndarray) -> float:
    # einsum, not np.dot: BLAS threads would compete with the scoring threads for the cores.
    p_centred = (p - p.mean()).ravel()
    g_centred = (g - g.mean()).ravel()
    denominator = np.sqrt(np.einsum("i,i->", p_centred, p_centred) * np.einsum("i,i->", g_centred, g_centred))
    if denominator == 0:
        return float("nan")
    return float(np.einsum("i,i->", p_centred, g_centred) / denominator)


def nss_unchecked(p: np.ndarray, f: np.ndarray) -> float:
    if not f.any() or p.size < 2:
        return float("nan")
    std = p.std(ddof=1)
    if std == 0:
        return float("nan")
    # mean((P - mu) / sigma) over fixations == (mean of P over fixations - mu) / sigma
    return float((p[f].mean() - p.mean()) / std)


def sim_unchecked(p: np.ndarray, g: np.ndarray) -> float:
    p_distribution = _min_max_distribution(p)
    g_distribution = _min_max_distribution(g)
    if p_distribution is None or g_distribution is None:
        return float("nan")
    return float(np.minimum(p_distribution, g_distribution).sum())


def kld_unchecked(p: np.ndarray, g: np.ndarray) -> float:
    p_scale = 1.0 / p.sum() if p.any() else 1.0
    g_scale = 1.0 / g.sum() if g.any() else 1.0
    # Pixels where G is 0 add exactly 0 (the log term is finite there), so only G > 0 is summed.
    support = g != 0
    g_support = g[support]
    g_support *= g_scale
    ratio = p[support]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio *= p_scale
        ratio += EPS
        np.divide(g_support, ratio, out=ratio)
        ratio += EPS
        np.abs(ratio, out=ratio)  # the real part of MATLAB's complex log of a negative argument
        np.log(ratio, out=ratio)
        return float(np.einsum("i,i->", g_support, ratio))


def information_gain_unchecked(p: np.ndarray, f: np.ndarray, b: np.ndarray) -> float:
    if not f.any():
        return float("nan")
    p_at_fixations = _min_max_distribution_at(p, f)
    b_at_fixations = _min_max_distribution_at(b, f)
    if p_at_fixations is None or b_at_fixations is None:
        return float("nan")
    return float((np.log2(EPS + p_at_fixations) - np.log2(EPS + b_at_fixations)).mean())


def _min_max_distribution(x: np.ndarray, keep_zero_map: bool = True) -> np.ndarray | None:
    """(x - min) / (max - min), divided by its sum; None where MATLAB would produce all-NaN.

    The benchmark's SIM leaves an all-zero map as it is (its intersection with anything is 0);
    a constant non-zero map has no range and gives NaN.
    """
    if keep_zero_map and not x.any():
        return x
    low = x.min()
    high = x.max()
    if high == low:
        return None
    normalised = x - low
    normalised /= high - low
    normalised /= normalised.sum()
    return normalised


def _min_max_distribution_at(x: np.ndarray, where: np.ndarray) -> np.ndarray | None:
    """`_min_max_distribution(x, keep_zero_map=False)[where]` without building the whole map."""
    low = x.min()
    high = x.max()
    if high == low:
        return None
    total = (x - low).sum() / (high - low)
    return ((x[where] - low) / (high - low)) / total
