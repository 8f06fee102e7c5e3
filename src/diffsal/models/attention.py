"""Efficient spatio-temporal cross-attention over the visual+noise slots of one decoder stage.

Tensors are channels-last, `(B, S, H, W, C)`: S time slots (T' video + 1 noise) on an H x W grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DepthwiseProjection(nn.Module):
    """Depthwise 3x3 conv per slot, optional average pooling to `pool_size`, then a pointwise linear layer.

    `(B, S, H, W, C) -> (B, S, H', W', C)`. Pooling sits between the two because it commutes with the
    pointwise layer: the result equals pooling the full projection, at a fraction of the cost.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.pointwise = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, pool_size: tuple[int, int] | None = None) -> torch.Tensor:
        batch, slots, height, width, channels = x.shape
        y = self.depthwise(x.reshape(batch * slots, height, width, channels).permute(0, 3, 1, 2))
        if pool_size is not None:
            y = F.adaptive_avg_pool2d(y, pool_size)
        y = y.permute(0, 2, 3, 1)
        return self.pointwise(y).reshape(batch, slots, *y.shape[1:])


def to_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """`(B, S, H, W, C)` -> `(B, heads, S*H*W, C/heads)`: tokens in (S, H, W) order, channels split into heads."""
    batch, channels = x.shape[0], x.shape[-1]
    tokens = x.reshape(batch, -1, num_heads, channels // num_heads)
    return tokens.transpose(1, 2)


class SpatioTemporalCrossAttention(nn.Module):
    """Pre-norm cross-attention + MLP on `(B, S, H, W, C)`; keys from `context` (f_avs) or, without audio, from x.

    Queries: every visual/noise token. Keys and values: pooled to `kv_pool_size` per slot, so the cost is
    linear in the number of positions. The attention scale is 1/sqrt(head width) (SDPA's default).
    """

    def __init__(self, channels: int, num_heads: int, kv_pool_size: tuple[int, int], mlp_ratio: float,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if channels % num_heads:
            raise ValueError(f"channels ({channels}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.kv_pool_size = tuple(kv_pool_size)
        self.norm = nn.LayerNorm(channels)
        self.query = DepthwiseProjection(channels)
        self.key = DepthwiseProjection(channels)
        self.value = DepthwiseProjection(channels)
        self.out = nn.Linear(channels, channels)
        self.mlp_norm = nn.LayerNorm(channels)
        hidden = round(channels * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, channels))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        batch, slots, height, width, channels = x.shape
        pool = (min(height, self.kv_pool_size[0]), min(width, self.kv_pool_size[1]))
        normed = self.norm(x)
        keys_from = context if context is not None else normed  # f_avs: normalised before its spatial weighting
        q = to_heads(self.query(normed), self.num_heads)
        k = to_heads(self.key(keys_from, pool), self.num_heads)
        v = to_heads(self.value(normed, pool), self.num_heads)
        attended = F.scaled_dot_product_attention(q, k, v)  # (B, heads, S*H*W, C/heads)
        attended = attended.transpose(1, 2).reshape(x.shape)
        x = x + self.dropout(self.out(attended))
        return x + self.mlp(self.mlp_norm(x))
