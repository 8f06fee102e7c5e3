"""Synthetic test media whose content is known exactly: frames that encode their own index.

Used by the tests (frame-exactness), the I/O benchmark and the quick-start probe.
"""

from __future__ import annotations

import numpy as np

_CODE_BITS = 12  # frames 0..4095 have distinct codes


def pattern_frame(index: int, width: int, height: int) -> np.ndarray:
    """RGB uint8 `(height, width, 3)` frame: a static gradient plus a band of black/white blocks
    spelling `index` in binary, so consecutive frames differ strongly even after lossy coding."""
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[..., 0] = rows.astype(np.uint8)
    frame[..., 1] = cols.astype(np.uint8)
    frame[..., 2] = ((rows + cols) / 2).astype(np.uint8)
    band_top, band_bottom = height // 4, max(height // 4 + 1, 3 * height // 4)
    block_edges = np.linspace(0, width, _CODE_BITS + 1).astype(int)
    for bit in range(_CODE_BITS):
        value = 255 if (index >> bit) & 1 else 0
        frame[band_top:band_bottom, block_edges[bit] : block_edges[bit + 1]] = value
    return frame


def decode_pattern_index(frame: np.ndarray) -> int:
    """Read back the index written by `pattern_frame` from a (possibly lossy, resized) RGB frame."""
    height, width = frame.shape[:2]
    band = frame[height // 4 : max(height // 4 + 1, 3 * height // 4)].astype(np.float32).mean(axis=(0, 2))
    block_edges = np.linspace(0, width, _CODE_BITS + 1).astype(int)
    index = 0
    for bit in range(_CODE_BITS):
        lo, hi = block_edges[bit], block_edges[bit + 1]
        margin = (hi - lo) // 4
        if band[lo + margin : hi - margin].mean() > 127:
            index |= 1 << bit
    return index


def tone(duration_s: float, sample_rate_hz: int, frequency_hz: float = 440.0, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone, float32 `(num_samples,)`."""
    time_s = np.arange(int(round(duration_s * sample_rate_hz))) / sample_rate_hz
    return (amplitude * np.sin(2 * np.pi * frequency_hz * time_s)).astype(np.float32)
