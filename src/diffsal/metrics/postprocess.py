"""Post-processing of predicted maps before scoring, as the STAViS evaluation does it.

STAViS (``postprocessMap.m`` + ``imresize``): scale to [0, 255] and clip, divide by the maximum,
min-max normalise to [0, 1] (a constant map becomes 0.5), Gaussian blur with sigma = 2 px and a
``2 * ceil(3 sigma) + 1`` kernel with mirrored borders at the prediction's own resolution, then
bicubic resize (MATLAB ``imresize``: Keys cubic a = -0.5, antialiased when shrinking) to the
ground-truth size. The steps here: clip to [0, 1], min-max, blur, resize, each optional. The
division by the maximum changes nothing that min-max does not undo, except for a prediction that
is <= 0 everywhere: MATLAB divides 0 by 0 there, so the clipped map is NaN everywhere.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.ndimage
import scipy.sparse

from diffsal.errors import InputError
from diffsal.metrics._inputs import as_saliency


@dataclass(frozen=True)
class PostProcess:
    """The named post-processing steps; the defaults are the STAViS protocol."""

    clip: bool = True  # to [0, 1]; a map that is then 0 everywhere becomes NaN everywhere
    min_max: bool = True
    blur_sigma_px: float = 2.0  # 0 disables the blur
    resize: bool = True

    def __post_init__(self) -> None:
        if not math.isfinite(self.blur_sigma_px) or self.blur_sigma_px < 0:
            raise InputError(f"blur sigma must be >= 0 pixels, got {self.blur_sigma_px!r}")

    def __call__(self, prediction: Any, target_shape: tuple[int, int]) -> np.ndarray:
        """Apply the steps to a `(h, w)` prediction; returns float64 `(H, W)` = `target_shape` if resizing.

        The result is NaN everywhere when clipping leaves nothing above 0 (no metric is defined on it).
        """
        result = as_saliency(prediction)
        if self.clip:
            result = np.clip(result, 0.0, 1.0)
            if not result.any():
                result = np.full_like(result, np.nan)
        if self.min_max:
            result = min_max_normalise(result)
        if self.blur_sigma_px > 0:
            result = gaussian_blur(result, self.blur_sigma_px)
        if self.resize and result.shape != tuple(target_shape):
            result = resize_bicubic(result, target_shape)
        return result

    def to_dict(self) -> dict:
        return asdict(self)


STAVIS_POSTPROCESS = PostProcess()
NO_POSTPROCESS = PostProcess(clip=False, min_max=False, blur_sigma_px=0.0, resize=False)


def min_max_normalise(x: np.ndarray) -> np.ndarray:
    """Linearly map to [0, 1]; a constant map becomes 0.5 everywhere (SaliencyToolbox ``normalizeImage``)."""
    x = np.asarray(x, dtype=np.float64)
    low = x.min()
    high = x.max()
    if high == low:
        return np.full_like(x, 0.5)
    return (x - low) / (high - low)


def gaussian_blur(x: np.ndarray, sigma_px: float) -> np.ndarray:
    """MATLAB ``imfilter(x, fspecial('gaussian', 2*ceil(3*sigma)+1, sigma), 'symmetric')``."""
    return scipy.ndimage.gaussian_filter(np.asarray(x, dtype=np.float64), sigma_px, mode="reflect",
                                         radius=int(math.ceil(3 * sigma_px)))


def resize_bicubic(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """MATLAB ``imresize(x, shape)`` for a float map: bicubic, antialiased when shrinking, mirrored borders.

    Separable: `rows @ x @ columns.T` with the sparse interpolation matrix of each axis (cached per
    size pair). Sparse products cost O(taps) per output pixel and use no multi-threaded BLAS, which
    would fight the scoring threads for the cores.
    """
    x = np.asarray(x, dtype=np.float64)
    height, width = (int(size) for size in shape)
    if height < 1 or width < 1:
        raise InputError(f"resize target must be positive, got {tuple(shape)}")
    rows = _imresize_matrix(x.shape[0], height)
    columns = _imresize_matrix(x.shape[1], width)
    return np.ascontiguousarray((columns @ (rows @ x).T).T)


def _cubic(distance: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5."""
    d = np.abs(distance)
    d2 = d * d
    d3 = d2 * d
    near = (1.5 * d3 - 2.5 * d2 + 1.0) * (d <= 1)
    far = (-0.5 * d3 + 2.5 * d2 - 4.0 * d + 2.0) * ((d > 1) & (d <= 2))
    return near + far


@functools.lru_cache(maxsize=64)
def _imresize_matrix(in_size: int, out_size: int) -> scipy.sparse.csr_matrix:
    """`(out_size, in_size)` weights of MATLAB's bicubic imresize along one axis."""
    scale = out_size / in_size
    kernel_width = 4.0
    if scale < 1:  # antialiasing: stretch the kernel by 1/scale
        kernel_width /= scale
    out_coordinates = np.arange(1, out_size + 1, dtype=np.float64)
    centres = out_coordinates / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinates
    left = np.floor(centres - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based
    distances = centres[:, None] - indices
    weights = scale * _cubic(scale * distances) if scale < 1 else _cubic(distances)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate((np.arange(in_size), np.arange(in_size)[::-1]))
    sources = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_size)]
    # Duplicate (row, source) pairs from mirrored taps are summed on conversion, as MATLAB does.
    matrix = scipy.sparse.coo_matrix((weights.ravel(), (np.repeat(np.arange(out_size), taps), sources.ravel())),
                                     shape=(out_size, in_size))
    return matrix.tocsr()
