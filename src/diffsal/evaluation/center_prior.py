"""The centre-prior baseline: an anisotropic Gaussian at the frame centre, the floor of every table."""

from __future__ import annotations

import functools

import numpy as np

from diffsal.errors import InputError

# Standard deviations as fractions of the frame height and width: the blob is stretched with the
# frame, so it is anisotropic for any non-square video.
DEFAULT_SIGMA_FRACTION = (0.25, 0.25)


def center_prior(shape: tuple[int, int], sigma_fraction: tuple[float, float] = DEFAULT_SIGMA_FRACTION) -> np.ndarray:
    """`(H, W)` float64 map, 1 at the centre, exp(-(dy^2 / 2 sy^2 + dx^2 / 2 sx^2)) elsewhere.

    sy = sigma_fraction[0] * H and sx = sigma_fraction[1] * W, distances between pixel centres.
    The returned array is shared (cached per shape) and read-only.
    """
    height, width = (int(size) for size in shape)
    if height < 1 or width < 1:
        raise InputError(f"centre prior needs a positive shape, got {tuple(shape)}")
    if min(sigma_fraction) <= 0:
        raise InputError(f"centre-prior sigma fractions must be positive, got {sigma_fraction}")
    return _center_prior(height, width, float(sigma_fraction[0]), float(sigma_fraction[1]))


@functools.lru_cache(maxsize=32)
def _center_prior(height: int, width: int, sigma_y: float, sigma_x: float) -> np.ndarray:
    dy = (np.arange(height) - (height - 1) / 2) / (sigma_y * height)
    dx = (np.arange(width) - (width - 1) / 2) / (sigma_x * width)
    prior = np.exp(-0.5 * dy[:, None] ** 2) * np.exp(-0.5 * dx[None, :] ** 2)
    prior.setflags(write=False)
    return prior
