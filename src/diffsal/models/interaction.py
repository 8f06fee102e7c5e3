"""Audio-visual fusion in each decoder stage: the multi-modal interaction module (MIM) or, as its ablation,
plain concatenation of the audio features to every visual token.

Both read the audio as one vector per time slot: the encoder's (h, w) grid is averaged away and its E
examples are resized onto the S slots. (The published design resizes the audio grid onto the image grid,
which pairs each image position with one time-frequency patch of the log-mel; a sound's pitch then only
reaches the positions that happen to face its frequency band. docs/model.md has the measurements.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class AudioPerSlot(nn.Module):
    """`audio (B, C_a, E, h, w)` -> `(B, S, 1, 1, C)`: grid-averaged, projected, layer-normalised, resized to S slots."""

    def __init__(self, audio_channels: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(audio_channels, channels)
        self.norm = nn.LayerNorm(channels)

    def forward(self, audio: torch.Tensor, slots: int, dtype: torch.dtype) -> torch.Tensor:
        pooled = audio.to(dtype).mean(dim=(3, 4)).transpose(1, 2)  # (B, E, C_a)
        projected = self.norm(self.proj(pooled)).transpose(1, 2)  # (B, C, E)
        per_slot = F.interpolate(projected, size=slots, mode="linear", align_corners=False)  # (B, C, S)
        return per_slot.transpose(1, 2)[:, :, None, None, :]


class MultiModalInteraction(nn.Module):
    """Audio-visual spatial attention: `visual (B, S, H, W, C)`, `audio (B, C_a, E, h, w)` -> (tokens, f_avs).

    The audio of each slot multiplies the visual tokens and the product is averaged over time; a linear
    layer turns it into one score per position, and the softmax over the H*W positions gives spatial
    weights (mean 1) that modulate the audio: f_avs. f_avs is the key input of the cross-attention that
    follows (the paper's design), and a linear projection of it is added to the tokens, so that where
    sound and picture agree reaches the prediction directly rather than only through the attention
    weights (with keys only, the sound's effect on the output at initialisation is ~1e-5 and the audio
    path is never learned; docs/model.md).
    """

    def __init__(self, audio_channels: int, channels: int) -> None:
        super().__init__()
        self.audio = AudioPerSlot(audio_channels, channels)
        self.score = nn.Linear(channels, 1, bias=False)  # a bias would cancel in the softmax
        self.residual = nn.Linear(channels, channels)

    def spatial_weights(self, visual: torch.Tensor, audio_slots: torch.Tensor) -> torch.Tensor:
        """`(B, H, W)` softmax weights over positions, scaled to mean 1."""
        batch, _, height, width, _ = visual.shape
        joint = (audio_slots * visual).mean(dim=1)  # (B, H, W, C)
        scores = self.score(joint).reshape(batch, height * width)
        weights = torch.softmax(scores.float(), dim=-1).to(visual.dtype) * (height * width)
        return weights.view(batch, height, width)

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        audio_slots = self.audio(audio, visual.shape[1], visual.dtype)
        f_avs = audio_slots * self.spatial_weights(visual, audio_slots)[:, None, :, :, None]
        return visual + self.residual(f_avs), f_avs


class ConcatFusion(nn.Module):
    """MIM off: each visual token concatenated with its slot's audio vector, a linear layer back to C, added.

    Returns (tokens, None): the cross-attention then takes its keys from the tokens, as without audio.
    """

    def __init__(self, audio_channels: int, channels: int) -> None:
        super().__init__()
        self.audio = AudioPerSlot(audio_channels, channels)
        self.proj = nn.Linear(2 * channels, channels)

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, None]:
        audio_slots = self.audio(audio, visual.shape[1], visual.dtype).expand_as(visual)
        return visual + self.proj(torch.cat([visual, audio_slots], dim=-1)), None


FUSIONS = {"mim": MultiModalInteraction, "concat": ConcatFusion}
