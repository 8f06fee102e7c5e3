"""The published audio encoder: the VGGish conv trunk, run without gradients, and a one-layer transformer.

Input: 9 log-mel examples per clip `(B, 1, E, 112, 192)` (`diffsal.models.published.audio_frontend`).
The transformer has 2 heads of 64 (no qkv bias), an MLP of 256 and a final LayerNorm, and no position
embedding: the published module computes a patch and position embedding and then discards them, so they are
not part of this model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from diffsal.models.audio import VGGishTrunk
from diffsal.models.published.config import PublishedAudioConfig


class AudioAttention(nn.Module):
    """Pre-norm multi-head self-attention over `(B, N, C)` with `heads x head_dim` inner width."""

    def __init__(self, channels: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * heads * head_dim, bias=False)
        self.out = nn.Linear(heads * head_dim, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        qkv = self.qkv(self.norm(x)).view(batch, tokens, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # scale 1 / sqrt(head_dim)
        return self.out(attended.transpose(1, 2).reshape(batch, tokens, -1))


class AudioFeedForward(nn.Module):
    """LayerNorm, Linear, GELU, Linear."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(self.norm(x))))


class PublishedAudioEncoder(nn.Module):
    """`(B, 1, E, h, w)` log-mel examples -> `(B, C, E, h/16, w/16)` audio features (paper: 512 x 9 x 7 x 12)."""

    def __init__(self, config: PublishedAudioConfig) -> None:
        super().__init__()
        self.trunk = VGGishTrunk(config.trunk_channels)
        channels = config.trunk_channels[-1]
        self.attention = AudioAttention(channels, config.heads, config.head_dim)
        self.feed_forward = AudioFeedForward(channels, config.mlp_dim)
        self.norm = nn.LayerNorm(channels)
        for parameter in self.trunk.parameters():  # the published code runs the trunk under no_grad
            parameter.requires_grad_(False)

    @property
    def out_channels(self) -> int:
        return self.trunk.out_channels

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        batch, _, count, height, width = examples.shape
        images = examples.reshape(batch * count, 1, height, width).to(self.trunk.features[0].weight.dtype)
        with torch.no_grad():
            features = self.trunk(images)  # (B*E, C, h, w)
        features = features.reshape(batch, count, *features.shape[1:]).permute(0, 1, 3, 4, 2)  # (B, E, h, w, C)
        grid = features.shape[1:4]
        tokens = features.reshape(batch, -1, features.shape[-1])
        tokens = tokens + self.attention(tokens)
        tokens = self.norm(tokens + self.feed_forward(tokens))
        return tokens.reshape(batch, *grid, -1).permute(0, 4, 1, 2, 3)  # (B, C, E, h, w)
