"""Saliency-UNet: denoises K saliency maps S_t jointly, conditioned on multi-scale video (and audio) features.

Noise branch: S_t (the K maps as K channels) -> conv -> stride-4 conv -> three DDPM ResNet blocks with
down-sampling, all conditioned on the time embedding of t. Its four maps join the four video maps as one more
time slot (T' video slots + 1 noise slot). Decoder: four stages from the coarsest scale up (spatial up-sampling
+ skip, multi-modal attention block), a temporal conv per stage that reads *every* slot (the noise slot
included, so S_t and t reach the output), the stage outputs resized to H/2 x W/2 and summed, a conv head with
K output channels (one per predicted frame), sigmoid, x2.

The video maps come channels-last, `(B, T', H_s, W_s, C_s)`, the layout the video encoder's tokens already
have: a denoising step adds its noise slot to them without copying them first.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from diffsal.models.attention import SpatioTemporalCrossAttention
from diffsal.models.blocks import Downsample, ResBlock, TimeEmbedding, group_norm
from diffsal.models.config import SaliencyUNetConfig
from diffsal.models.interaction import FUSIONS


class NoiseEncoder(nn.Module):
    """`S_t (B, K, H, W)`, time embedding -> four maps `(B, C_s, H/4/2^s, W/4/2^s)` matching the video scales.

    The full-resolution stem convolves each of the K maps into its own C_0/K channels (groups = gcd(K, C_0)),
    so that it costs what it costs for one map; the stride-4 patchify that follows mixes the K maps.
    """

    def __init__(self, channels: tuple[int, ...], time_dim: int, dropout: float, maps: int = 1) -> None:
        super().__init__()
        self.stem = nn.Conv2d(maps, channels[0], 3, padding=1, groups=math.gcd(maps, channels[0]))
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
    """Up-sample the previous stage, add the video and noise slots, fuse the audio (MIM or concatenation), run
    the cross-attention, collapse the slots.

    Channels-last: `previous (B, S, h, w, C_prev)` or None, `video (B, S-1, H, W, C)`, `noise (B, H, W, C)`,
    audio `(B, C_a, E, h_a, w_a)` or None -> (`x (B, S, H, W, C)` for the next stage, `y (B, fuse_channels, H, W)`
    for the head).
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

    def forward(self, previous: torch.Tensor | None, video: torch.Tensor, noise: torch.Tensor,
                audio: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        batch, video_slots, height, width, channels = video.shape
        slots = video_slots + 1
        if self.up is None or previous is None:
            x = torch.cat([video, noise.to(video.dtype).unsqueeze(1)], dim=1)
        else:
            per_slot = previous.reshape(-1, *previous.shape[2:]).permute(0, 3, 1, 2)  # (B*S, C_prev, h, w)
            up = F.interpolate(self.up(per_slot), size=(height, width), mode="bilinear", align_corners=False)
            x = up.permute(0, 2, 3, 1).reshape(batch, slots, height, width, channels)
            # The up-sampled tensor is new; adding the skips into it leaves the video maps uncopied.
            x[:, :video_slots] += video
            x[:, video_slots] += noise
        context = None
        if self.fusion is not None and audio is not None:
            x, context = self.fusion(x, audio)
        x = self.attention(x, context)
        y = self.collapse(x.permute(0, 2, 3, 1, 4).reshape(batch, height, width, slots * channels))
        return x, y.permute(0, 3, 1, 2)


class SaliencyUNet(nn.Module):
    """Predicts the K clean maps S_0 in [0, 1] from S_t, t and the encoders' features.

    Args of `forward`:
        noisy_map: `(B, K, H, W)` S_t in diffusion space (K = `maps`).
        timesteps: `(B,)` diffusion steps t.
        video_maps: four channels-last `(B, T', H_s, W_s, C_s)` maps, finest first.
        audio: `(B, C_a, E, h, w)` audio features, or None (video only, or no audio for this clip).
    Returns `(B, K, H, W)` in [0, 1].
    """

    def __init__(self, config: SaliencyUNetConfig, channels: tuple[int, ...], num_video_slots: int,
                 audio_channels: int | None, maps: int = 1) -> None:
        super().__init__()
        self.config = config
        self.time_embedding = TimeEmbedding(config.time_embed_dim, config.time_hidden_dim)
        self.noise_encoder = NoiseEncoder(channels, config.time_hidden_dim, config.dropout, maps)
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
        self.head = nn.Conv2d(config.head_channels, maps, 1)
        nn.init.constant_(self.head.bias, config.output_bias_init)

    def forward(self, noisy_map: torch.Tensor, timesteps: torch.Tensor, video_maps: list[torch.Tensor],
                audio: torch.Tensor | None = None) -> torch.Tensor:
        height, width = noisy_map.shape[-2:]
        time = self.time_embedding(timesteps)
        noise_maps = self.noise_encoder(noisy_map.to(time.dtype), time)
        for video, noise in zip(video_maps, noise_maps):
            if video.shape[2:4] != noise.shape[-2:]:
                raise ValueError(f"video map {tuple(video.shape)} and noise map {tuple(noise.shape)} differ in size")
        x = None
        fused = None
        half_size = (max(1, height // 2), max(1, width // 2))
        for stage, video, noise in zip(self.stages, reversed(video_maps), reversed(noise_maps)):
            x, y = stage(x, video, noise.permute(0, 2, 3, 1), audio)
            y = F.interpolate(y, size=half_size, mode="bilinear", align_corners=False)
            fused = y if fused is None else fused.add_(y)
        logits = self.head(self.fuse(fused))
        saliency = torch.sigmoid(logits.float())
        return F.interpolate(saliency, size=(height, width), mode="bilinear", align_corners=False)
