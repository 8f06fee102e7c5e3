"""Mapping between data values in [0, 1] and the space the Gaussian process runs in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch


@dataclass(frozen=True)
class DataScaling:
    """`unit`: x = d * scale; `symmetric`: x = (2 d - 1) * scale, for data d in [0, 1]."""

    map_range: Literal["unit", "symmetric"] = "symmetric"
    signal_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.map_range not in ("unit", "symmetric"):
            raise ValueError(f"map_range must be 'unit' or 'symmetric', got {self.map_range!r}")

    def encode(self, data: torch.Tensor) -> torch.Tensor:
        if self.map_range == "symmetric":
            data = data * 2 - 1
        return data * self.signal_scale

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of `encode`, clamped to [0, 1]."""
        data = x / self.signal_scale
        if self.map_range == "symmetric":
            data = (data + 1) / 2
        return data.clamp(0.0, 1.0)
