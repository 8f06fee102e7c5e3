"""Multi-modal interaction module (MIM): audio features weighted by where audio and vision agree."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MultiModalInteraction(nn.Module):
    """Audio-visual spatial attention: `visual (B, S, H, W, C)`, `audio (B, C_a, E, h, w)` -> f_avs `(B, S, H, W, C)`.

    The audio is projected to C channels, layer-normalised and resized to the stage grid (its E examples
    onto the S time slots), multiplied with the visual slots and averaged over time; a linear layer turns
    the result into one score per position, and the softmax over the H*W positions gives spatial weights
    (mean 1) that modulate the audio features. f_avs serves as the keys of the cross-attention that
    follows; it is not normalised again there, since a per-position norm would cancel the weights.
    """

    def __init__(self, audio_channels: int, channels: int) -> None:
        super().__init__()
        self.audio_proj = nn.Linear(audio_channels, channels)
        self.audio_norm = nn.LayerNorm(channels)
        self.score = nn.Linear(channels, 1, bias=False)  # a bias would cancel in the softmax

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        batch, slots, height, width, _ = visual.shape
        projected = self.audio_norm(self.audio_proj(audio.to(visual.dtype).permute(0, 2, 3, 4, 1)))  # (B, E, h, w, C)
        audio_map = F.interpolate(projected.permute(0, 4, 1, 2, 3), size=(slots, height, width),
                                  mode="trilinear", align_corners=False).permute(0, 2, 3, 4, 1)  # (B, S, H, W, C)
        joint = (audio_map * visual).mean(dim=1)  # (B, H, W, C)
        scores = self.score(joint).reshape(batch, height * width)
        weights = torch.softmax(scores.float(), dim=-1).to(visual.dtype) * (height * width)
        return audio_map * weights.view(batch, 1, height, width, 1)
