"""Saliency metrics (MIT saliency benchmark definitions) and the STAViS post-processing.

Every metric takes `(H, W)` numpy arrays or torch tensors of equal shape and returns a float
(NaN where the benchmark definition is undefined, e.g. a frame without fixations).
"""

from diffsal.metrics.auc import auc_borji, auc_judd, auc_shuffled
from diffsal.metrics.frame import LOWER_IS_BETTER, METRIC_NAMES, parse_metric_names, score_frame
from diffsal.metrics.postprocess import (NO_POSTPROCESS, STAVIS_POSTPROCESS, PostProcess, gaussian_blur,
                                         min_max_normalise, resize_bicubic)
from diffsal.metrics.saliency_metrics import EPS, cc, information_gain, kld, nss, sim

__all__ = [
    "EPS", "LOWER_IS_BETTER", "METRIC_NAMES", "NO_POSTPROCESS", "STAVIS_POSTPROCESS", "PostProcess",
    "auc_borji", "auc_judd", "auc_shuffled", "cc", "gaussian_blur", "information_gain", "kld",
    "min_max_normalise", "nss", "parse_metric_names", "resize_bicubic", "score_frame", "sim",
]
