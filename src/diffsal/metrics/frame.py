"""All metrics of one frame in one call, with the inputs checked once and shared work done once."""

from __future__ import annotations

from typing import Any

import numpy as np

from diffsal.errors import InputError
from diffsal.metrics._inputs import as_fixations, as_saliency, check_same_shape
from diffsal.metrics.auc import (auc_borji_binned, auc_judd_unchecked, auc_shuffled_binned, check_split_options,
                                 make_rng, min_max_or_none)
from diffsal.metrics.saliency_metrics import (cc_unchecked, information_gain_unchecked, kld_unchecked,
                                              nss_unchecked, sim_unchecked)

# Names as they appear in tables, JSON and CSV, in the order tables show them.
METRIC_NAMES = ("CC", "NSS", "SIM", "KLD", "AUC-J", "AUC-B", "sAUC", "IG")
# Higher is better for all but KLD.
LOWER_IS_BETTER = frozenset({"KLD"})


def parse_metric_names(names: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate metric names (case-insensitive, comma-separated string or sequence); keeps table order."""
    if isinstance(names, str):
        names = [name for name in names.split(",") if name.strip()]
    by_lower = {name.lower(): name for name in METRIC_NAMES}
    chosen = set()
    for name in names:
        key = name.strip().lower()
        if key not in by_lower:
            raise InputError(f"unknown metric {name.strip()!r}; choose from {', '.join(METRIC_NAMES)}")
        chosen.add(by_lower[key])
    if not chosen:
        raise InputError("no metric selected")
    return tuple(name for name in METRIC_NAMES if name in chosen)


def score_frame(
    prediction: Any,
    saliency: Any,
    fixations: Any,
    *,
    metrics: tuple[str, ...] = METRIC_NAMES,
    other_map: Any = None,
    baseline: Any = None,
    n_splits: int = 100,
    step: float = 0.1,
    jitter: bool = True,
    rng: int | np.random.Generator | None = None,
    kld_clip_negative: bool = False,
    auc_borji_min_fixations: int = 2,
) -> dict[str, float]:
    """Score one predicted map against one frame's ground truth.

    Args:
        prediction: `(H, W)` predicted map (post-processed to the ground-truth size already).
        saliency: `(H, W)` continuous ground-truth map (for CC, SIM, KLD).
        fixations: `(H, W)` binary fixation map (for NSS and the AUCs, IG).
        other_map: `(H, W)` binary map of the sAUC negatives; required for "sAUC".
        baseline: `(H, W)` baseline map for "IG" (e.g. the centre prior); required for "IG".
        rng: seed or Generator for the AUC-Judd jitter and the Borji/sAUC splits.
        kld_clip_negative: clip P at 0 for KLD (default: MATLAB's real part, see `kld`).
        auc_borji_min_fixations: AUC-Borji is NaN with fewer fixated pixels (MATLAB's ``AUC_Borji.m``: 2).

    Returns:
        {metric name: score}; NaN where the benchmark definition gives NaN (no fixations, constant map).
    """
    metrics = parse_metric_names(metrics)
    p = as_saliency(prediction)
    f = as_fixations(fixations)
    check_same_shape(p, f, "fixation map")
    g = None
    if {"CC", "SIM", "KLD"} & set(metrics):
        g = as_saliency(saliency, "ground-truth saliency map")
        check_same_shape(p, g, "ground-truth saliency map")
    # One stream per random metric: a metric's draws do not depend on which other metrics are scored.
    judd_rng, borji_rng, shuffled_rng = make_rng(rng).spawn(3)
    scores: dict[str, float] = {}
    if "CC" in metrics:
        scores["CC"] = cc_unchecked(p, g)
    if "NSS" in metrics:
        scores["NSS"] = nss_unchecked(p, f)
    if "SIM" in metrics:
        scores["SIM"] = sim_unchecked(p, g)
    if "KLD" in metrics:
        scores["KLD"] = kld_unchecked(np.maximum(p, 0.0) if kld_clip_negative else p, g)
    if "AUC-J" in metrics:
        scores["AUC-J"] = auc_judd_unchecked(p, f, jitter=jitter, rng=judd_rng)
    if {"AUC-B", "sAUC"} & set(metrics):
        check_split_options(n_splits, step)
        normalised = min_max_or_none(p) if f.any() else None
        if "AUC-B" in metrics:
            too_few = np.count_nonzero(f) < auc_borji_min_fixations
            scores["AUC-B"] = float("nan") if normalised is None or too_few else auc_borji_binned(
                normalised, f, n_splits=n_splits, step=step, rng=borji_rng)
        if "sAUC" in metrics:
            if other_map is None:
                raise InputError("sAUC needs an other map (fixations from other frames or videos)")
            other = as_fixations(other_map, "sAUC other map")
            check_same_shape(other, f, "fixation map")
            scores["sAUC"] = float("nan") if normalised is None else auc_shuffled_binned(
                normalised, f, other, n_splits=n_splits, step=step, rng=shuffled_rng)
    if "IG" in metrics:
        if baseline is None:
            raise InputError("IG needs a baseline map (e.g. diffsal.evaluation.center_prior)")
        b = as_saliency(baseline, "baseline map")
        check_same_shape(b, f, "fixation map")
        scores["IG"] = information_gain_unchecked(p, f, b)
    return {name: scores[name] for name in metrics}
