"""The published Saliency-UNet, computed as the released weights expect it, defects included.

Differences from diffsal's own `SaliencyUNet` (each changes the output):

- time embedding: sinusoid with frequencies `exp(-ln(10^4) i / (d/2 - 1))`, then Linear, SiLU, Linear;
- noise branch: stem conv (no SiLU after it), a stride-4 patchify (the published 3x3 stride-4 conv on a
  right/bottom-padded input, held here as the equal 4x4 kernel with a zero last row and column), then per scale a
  DDPM ResNet block (GroupNorm eps 1e-6, dropout) *before* a right/bottom-padded 3x3 stride-2 conv;
- the noise maps join the three coarsest video maps as a 9th slot; the finest video map is never read (the
  visual-only model has no noise branch: see `PublishedSaliencyUNet`);
- decoder stage s (coarsest first): up-sampling (bilinear x2, then two [dilated 3x3 conv, BatchNorm, ReLU]) of
  the previous stage plus the video+noise skip (stages 1-2 only), then one transformer block whose attention runs
  *per slot* (each slot's tokens attend to the keys of that slot only), with depthwise-conv q/k/v projections,
  a LayerNorm inside each, the attention scale 1/sqrt(C) of the full width;
- the MIM (audio models): the audio grid up-sampled (nearest) to the stage grid, multiplied with the slots,
  averaged over the slots, a softmax over the *width* only, multiplied back onto the audio; the keys are then
  made from that tensor by a reinterpreting reshape that mixes channels, slots and pixels (no residual);
- per stage a LayerNorm and a temporal conv (kernel = stride = 5, then ReLU) that reads slots 0-4 only — the
  noise slot (8) is never read, so without audio the output does not depend on S_t or t;
- the stage outputs resized to H/2 x W/2 and summed, conv + BatchNorm + ReLU, 1x1 conv, sigmoid, bilinear to
  H x W.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from diffsal.models.blocks import ResBlock
from diffsal.models.published.config import PublishedConfig


def published_timestep_embedding(timesteps: torch.Tensor, dim: int) -> torch.Tensor:
    """`(B,) -> (B, dim)`: [sin, cos] of t times `exp(-ln(10000) i / (dim/2 - 1))`, i = 0 .. dim/2 - 1."""
    half = dim // 2
    frequencies = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000) / (half - 1)))
    angles = timesteps.float()[:, None] * frequencies.to(timesteps.device)[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class PaddedDownsample(nn.Module):
    """Zero-pad one row and column at the bottom/right, then a 3x3 stride-2 conv (the published down-sampling)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class NoiseEncoder(nn.Module):
    """`S_t (B, 1, H, W)`, time embedding -> three maps `(B, C_s, h_s, w_s)` for scales 1-3, coarsest first."""

    def __init__(self, channels: tuple[int, ...], time_dim: int, dropout: float) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, channels[0], 3, padding=1)
        self.patchify = nn.Conv2d(channels[0], channels[0], 4, stride=4)
        self.blocks = nn.ModuleList(
            ResBlock(c_in, c_out, time_dim, dropout, norm_eps=1e-6) for c_in, c_out in itertools.pairwise(channels))
        self.downsamples = nn.ModuleList(PaddedDownsample(c) for c in channels[1:])

    def forward(self, noisy: torch.Tensor, time: torch.Tensor) -> list[torch.Tensor]:
        x = self.patchify(self.stem(noisy))
        maps = []
        for block, downsample in zip(self.blocks, self.downsamples):
            x = downsample(block(x, time))
            maps.append(x)
        return maps[::-1]


class UpEmbed(nn.Module):
    """Per slot: bilinear x2, then two [3x3 conv with dilation 2, BatchNorm, ReLU]; `(B, C, S, h, w)` in and out."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=2, dilation=2, bias=False)
        self.norm1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=2, dilation=2, bias=False)
        self.norm2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, slots, height, width = x.shape
        y = x.transpose(1, 2).reshape(batch * slots, channels, height, width)
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        y = F.relu(self.norm1(self.conv1(y)))
        y = F.relu(self.norm2(self.conv2(y)))
        return y.reshape(batch, slots, *y.shape[1:]).transpose(1, 2)


class SlotAttention(nn.Module):
    """Attention within each slot: q from a depthwise 3x3 conv, k/v from depthwise `stride x stride` convs with
    that stride, each followed by a LayerNorm and a Linear; scale 1/sqrt(C); `(N, C, h, w)` maps of N = B x S
    slots -> `(N, h w, C)` tokens. Keys come from `key_source` when given (the MIM output)."""

    def __init__(self, channels: int, heads: int, kv_stride: int) -> None:
        super().__init__()
        self.heads = heads
        self.scale = channels**-0.5
        self.q_conv = nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)
        self.k_conv = nn.Conv2d(channels, channels, kv_stride, stride=kv_stride, groups=channels, bias=False)
        self.v_conv = nn.Conv2d(channels, channels, kv_stride, stride=kv_stride, groups=channels, bias=False)
        self.q_norm = nn.LayerNorm(channels)
        self.k_norm = nn.LayerNorm(channels)
        self.v_norm = nn.LayerNorm(channels)
        self.q = nn.Linear(channels, channels)
        self.k = nn.Linear(channels, channels)
        self.v = nn.Linear(channels, channels)
        self.out = nn.Linear(channels, channels)

    def _heads(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens.view(tokens.shape[0], tokens.shape[1], self.heads, -1).transpose(1, 2)

    def forward(self, maps: torch.Tensor, key_source: torch.Tensor | None = None) -> torch.Tensor:
        def tokens(conv: nn.Conv2d, norm: nn.LayerNorm, source: torch.Tensor) -> torch.Tensor:
            return norm(conv(source).flatten(2).transpose(1, 2))

        q = self._heads(self.q(tokens(self.q_conv, self.q_norm, maps)))
        k = self._heads(self.k(tokens(self.k_conv, self.k_norm, maps if key_source is None else key_source)))
        v = self._heads(self.v(tokens(self.v_conv, self.v_norm, maps)))
        attended = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        return self.out(attended.transpose(1, 2).flatten(2))


def interaction_keys(audio: torch.Tensor, slots_maps: torch.Tensor) -> torch.Tensor:
    """The MIM: `audio (B, C, S, h, w)` on the stage grid, the stage's maps `(B, C, S, h, w)` -> key source
    `(B S, C, h, w)`, made by the published reinterpreting reshape of the channels-first tensor."""
    batch, channels, slots, height, width = audio.shape
    weights = torch.softmax((audio * slots_maps).mean(dim=2, keepdim=True), dim=-1)  # softmax over the width
    modulated = (audio * weights).contiguous()
    scrambled = modulated.view(batch * slots, height * width, channels)
    return scrambled.transpose(1, 2).reshape(batch * slots, channels, height, width)


class DecoderStage(nn.Module):
    """One decoder stage at width C: [up-sample + skip], MIM, slot attention + MLP, then LayerNorm and the
    temporal conv to `fuse_channels`."""

    def __init__(self, in_channels: int | None, channels: int, config: PublishedConfig, kv_stride: int,
                 audio_channels: int | None) -> None:
        super().__init__()
        unet = config.unet
        self.up = UpEmbed(in_channels, channels) if in_channels is not None else None
        self.audio_align = nn.Conv2d(audio_channels, channels, 1) if audio_channels is not None else None
        self.norm = nn.LayerNorm(channels)
        self.attention = SlotAttention(channels, unet.attention_heads, kv_stride)
        self.mlp_norm = nn.LayerNorm(channels)
        hidden = int(channels * unet.mlp_ratio)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.out_norm = nn.LayerNorm(channels)
        fuse = config.video.channels[-1]
        kernel = unet.temporal_kernel
        self.temporal = nn.Conv3d(channels, fuse, (kernel, 1, 1), stride=(kernel, 1, 1), bias=False)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None, audio: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """`x (B, C', S, h', w')` (the previous stage, or the coarsest maps), skip `(B, C, S, h, w)` or None ->
        (this stage's maps `(B, C, S, h, w)`, its reduced output `(B, fuse, h, w)`)."""
        if self.up is not None:
            x = self.up(x)
        if skip is not None:
            x = x + skip
        batch, channels, slots, height, width = x.shape
        maps = x.transpose(1, 2).reshape(batch * slots, channels, height, width)
        keys = None
        if audio is not None:
            audio_channels, audio_height, audio_width = audio.shape[1], audio.shape[3], audio.shape[4]
            aligned = self.audio_align(audio.transpose(1, 2).reshape(-1, audio_channels, audio_height, audio_width))
            if aligned.shape[-2:] != (height, width):
                aligned = F.interpolate(aligned, scale_factor=height // aligned.shape[-2], mode="nearest")
            aligned = aligned.reshape(batch, -1, channels, height, width).transpose(1, 2)
            keys = interaction_keys(aligned, x)
        tokens = maps.flatten(2).transpose(1, 2)  # (B S, h w, C)
        normed = self.norm(tokens).transpose(1, 2).reshape(batch * slots, channels, height, width)
        tokens = tokens + self.attention(normed, keys)
        tokens = tokens + self.fc2(F.gelu(self.fc1(self.mlp_norm(tokens))))
        out = tokens.transpose(1, 2).reshape(batch, slots, channels, height, width).transpose(1, 2)
        reduced = self.out_norm(tokens).reshape(batch, slots, height, width, channels).permute(0, 4, 1, 2, 3)
        reduced = F.relu(self.temporal(reduced)).squeeze(2)  # (B, fuse, h, w): slots 0 .. kernel-1 only
        return out, reduced


class PublishedSaliencyUNet(nn.Module):
    """x_t `(B, 1, H, W)`, t `(B,)`, the four video maps `(B, C_s, T', h_s, w_s)` finest first, audio features
    `(B, C_a, S, h, w)` or None -> predicted clean map `(B, 1, H, W)` in [0, 1]."""

    def __init__(self, config: PublishedConfig, audio_channels: int | None) -> None:
        super().__init__()
        self.size = (config.height, config.width)
        channels = tuple(config.video.channels)
        time_dim = channels[0]
        self.time_dim = time_dim
        # Without audio the noise slot is never read (the temporal conv reads slots 0-4 and attention stays within
        # a slot): the visual model has no noise branch, and its maps do not depend on S_t or t.
        self.uses_noise = audio_channels is not None
        if self.uses_noise:
            self.time_mlp = nn.ModuleList([nn.Linear(time_dim, 4 * time_dim), nn.Linear(4 * time_dim, 4 * time_dim)])
            self.noise_encoder = NoiseEncoder(channels, 4 * time_dim, config.unet.noise_dropout)
        widths = channels[::-1]  # coarsest first
        self.stages = nn.ModuleList(
            DecoderStage(widths[index - 1] if index else None, width, config, config.unet.kv_strides[index],
                         audio_channels)
            for index, width in enumerate(widths))
        fuse = channels[-1]
        self.fuse_conv = nn.Conv2d(fuse, channels[0], 3, padding=1)
        self.fuse_norm = nn.BatchNorm2d(channels[0])
        self.head = nn.Conv2d(channels[0], 1, 1)

    def time_embedding(self, timesteps: torch.Tensor) -> torch.Tensor:
        first, second = self.time_mlp
        return second(F.silu(first(published_timestep_embedding(timesteps, self.time_dim))))

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor, video_maps: list[torch.Tensor],
                audio: torch.Tensor | None) -> torch.Tensor:
        joined = video_maps[::-1][:3]  # coarsest first; the finest map is never read
        if self.uses_noise:
            noise_maps = self.noise_encoder(noisy, self.time_embedding(timesteps))  # scales 3, 2, 1
            joined = [torch.cat([video, noise.unsqueeze(2)], dim=2) for video, noise in zip(joined, noise_maps)]
        out_size = (joined[0].shape[-2] * 16, joined[0].shape[-1] * 16)
        x, total = joined[0], None
        for index, stage in enumerate(self.stages):
            skip = joined[index] if index in (1, 2) else None
            x, reduced = stage(x, skip, audio)
            reduced = F.interpolate(reduced, size=out_size, mode="bilinear", align_corners=False)
            total = reduced if total is None else total + reduced
        fused = F.relu(self.fuse_norm(self.fuse_conv(total)))
        saliency = torch.sigmoid(self.head(fused))
        return F.interpolate(saliency, size=self.size, mode="bilinear", align_corners=False)
