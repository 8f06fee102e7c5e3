"""Saliency-UNet: denoises a saliency map S_t conditioned on multi-scale video (and audio) features.

Noise branch: S_t -> conv -> stride-4 conv -> three DDPM ResNet blocks with down-sampling, all conditioned
on the time embedding of t. Its four maps join the four video maps as one more time slot (T' video slots +
1 noise slot). Decoder: four stages from the coarsest scale up (spatial up-sampling + skip, multi-modal
attention block), a temporal conv per stage that reads *every* slot (the noise slot included, so S_t and
t reach the output), the stage outputs resized to H/2 x W/2 and summed, a conv head, sigmoid, x2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from diffsal.models.attention import SpatioTemporalCrossAttention
from diffsal.models.blocks import Downsample, ResBlock, TimeEmbedding, group_norm
from diffsal.models.config import SaliencyUNetConfig
from diffsal.models.interaction import FUSIONS


class NoiseEncoder(nn.Module):
    """`S_t (B, 1, H, W)`, time embedding -> four maps `(B, C_s, H/4/2^s, W/4/2^s)` matching the video scales."""

    def __init__(self, channels: tuple[int, ...], time_dim: int, dropout: float) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, channels[0], 3, padding=1)
        self.patchify = nn.Conv2d(channels[0], channels[0], 4, stride=4)
        self.time_proj = nn.Linear(time_dim, channels[0])
        self.downsamples = nn.ModuleList(Downsample(c) for c in channels[:-1])
        self.blocks = nn.ModuleList(
            ResBlock(c_in, c_out, time_dim, dropout) for c_in, c_out in zip(channels[:-1], channels[1:])
        )

    def forward(self, noisy_map: torch.Tensor, time: torch.Tensor) -> list[torch.Tensor]:
        x = self.patchify(F.silu(self.stem(noisy_map)))
        x = x + self.time_proj(F.silu(time))[:, :, None, None]
        maps = [x]
        for downsample, block in zip(self.downsamples, self.blocks):
            x = block(downsample(x), time)
            maps.append(x)
        return maps


class DecoderStage(nn.Module):
    """Up-sample the previous stage, add the skip slots, fuse the audio (MIM or concatenation), run the
    cross-attention, collapse the slots.

    Channels-last: `previous (B, S, h, w, C_prev)` or None, `skip (B, S, H, W, C)`, audio `(B, C_a, E, h_a, w_a)`
    or None -> (`x (B, S, H, W, C)` for the next stage, `y (B, fuse_channels, H, W)` for the head).
    """

    def __init__(self, in_channels: int | None, channels: int, audio_channels: int | None, num_slots: int,
                 config: SaliencyUNetConfig) -> None:
        super().__init__()
        self.up = nn.Conv2d(in_channels, channels, 3, padding=1) if in_channels else None
        self.fusion = FUSIONS[config.audio_fusion](audio_channels, channels) if audio_channels else None
        self.attention = SpatioTemporalCrossAttention(channels, config.attention_heads, config.kv_pool_size,
                                                      config.mlp_ratio, config.dropout)
        # Temporal conv with one kernel tap per slot, written as a linear layer over (slot, channel): every
        # slot, the noise slot included, has its own weights and none is skipped (published defect 1).
        self.collapse = nn.Linear(num_slots * channels, config.fuse_channels)

    def forward(self, previous: torch.Tensor | None, skip: torch.Tensor,
                audio: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        batch, slots, height, width, channels = skip.shape
        x = skip
        if self.up is not None and previous is not None:
            per_slot = previous.reshape(-1, *previous.shape[2:]).permute(0, 3, 1, 2)  # (B*S, C_prev, h, w)
            up = F.interpolate(self.up(per_slot), size=(height, width), mode="bilinear", align_corners=False)
            x = x + up.permute(0, 2, 3, 1).reshape(skip.shape)
        context = None
        if self.fusion is not None and audio is not None:
            x, context = self.fusion(x, audio)
        x = self.attention(x, context)
        y = self.collapse(x.permute(0, 2, 3, 1, 4).reshape(batch, height, width, slots * channels))
        return x, y.permute(0, 3, 1, 2)


class SaliencyUNet(nn.Module):
    """Predicts the clean map S_0 in [0, 1] from S_t, t and the encoders' features.

    Args of `forward`:
        noisy_map: `(B, 1, H, W)` S_t in diffusion space.
        timesteps: `(B,)` diffusion steps t.
        video_maps: four `(B, C_s, T', H_s, W_s)` maps, finest first.
        audio: `(B, C_a, E, h, w)` audio features, or None (video only, or no audio for this clip).
    Returns `(B, 1, H, W)` in [0, 1].
    """

    def __init__(self, config: SaliencyUNetConfig, channels: tuple[int, ...], num_video_slots: int,
                 audio_channels: int | None) -> None:
        super().__init__()
        self.config = config
        self.time_embedding = TimeEmbedding(config.time_embed_dim, config.time_hidden_dim)
        self.noise_encoder = NoiseEncoder(channels, config.time_hidden_dim, config.dropout)
        num_slots = num_video_slots + 1
        coarse_to_fine = list(reversed(channels))
        self.stages = nn.ModuleList(
            DecoderStage(coarse_to_fine[i - 1] if i else None, c, audio_channels, num_slots, config)
            for i, c in enumerate(coarse_to_fine)
        )
        self.fuse = nn.Sequential(
            nn.Conv2d(config.fuse_channels, config.head_channels, 3, padding=1),
            group_norm(config.head_channels),
            nn.SiLU(),
        )
        self.head = nn.Conv2d(config.head_channels, 1, 1)
        nn.init.constant_(self.head.bias, config.output_bias_init)

    def forward(self, noisy_map: torch.Tensor, timesteps: torch.Tensor, video_maps: list[torch.Tensor],
                audio: torch.Tensor | None = None) -> torch.Tensor:
        height, width = noisy_map.shape[-2:]
        time = self.time_embedding(timesteps)
        noise_maps = self.noise_encoder(noisy_map.to(time.dtype), time)
        slots = []
        for video, noise in zip(video_maps, noise_maps):
            if video.shape[-2:] != noise.shape[-2:]:
                raise ValueError(f"video map {tuple(video.shape)} and noise map {tuple(noise.shape)} differ in size")
            joined = torch.cat([video, noise.to(video.dtype).unsqueeze(2)], dim=2)  # (B, C, T'+1, H, W)
            slots.append(joined.permute(0, 2, 3, 4, 1))  # channels-last (B, T'+1, H, W, C)
        x = None
        fused = None
        half_size = (max(1, height // 2), max(1, width // 2))
        for stage, skip in zip(self.stages, reversed(slots)):
            x, y = stage(x, skip, audio)
            y = F.interpolate(y, size=half_size, mode="bilinear", align_corners=False)
            fused = y if fused is None else fused + y
        logits = self.head(self.fuse(fused))
        saliency = torch.sigmoid(logits.float())
        return F.interpolate(saliency, size=(height, width), mode="bilinear", align_corners=False)
