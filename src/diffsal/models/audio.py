"""Audio encoder: VGGish log-mel front end (in torch), DiffSal's example framing, the VGGish conv trunk,
and a transformer over the audio tokens with a temporal position embedding ("temporal enhancement").

The trunk keeps torchvision-style names of the standard `vggish-10086976.pth` file (`features.N.*`); the
file's fully connected `embeddings.*` layers are not used by DiffSal and are not kept.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from diffsal.errors import InputError
from diffsal.models.config import AudioEncoderConfig
from diffsal.models.weights import LoadReport, load_into, read_state_dict


def hz_to_mel(frequency_hz: torch.Tensor) -> torch.Tensor:
    """HTK mel scale, as VGGish uses it."""
    return 1127.0 * torch.log1p(frequency_hz / 700.0)


def mel_filterbank(
    num_mel_bins: int, num_spectrum_bins: int, sample_rate_hz: int, low_hz: float, high_hz: float
) -> torch.Tensor:
    """`(num_spectrum_bins, num_mel_bins)` triangular weights, triangles spaced evenly on the mel scale.

    Follows VGGish: the triangles are evaluated in mel (not Hz) and the DC bin gets no weight.
    """
    spectrum_mel = hz_to_mel(torch.linspace(0.0, sample_rate_hz / 2, num_spectrum_bins, dtype=torch.float64))
    low_mel, high_mel = (1127.0 * math.log1p(f / 700.0) for f in (low_hz, high_hz))
    edges = torch.linspace(low_mel, high_mel, num_mel_bins + 2, dtype=torch.float64)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (spectrum_mel[:, None] - lower) / (centre - lower)
    falling = (upper - spectrum_mel[:, None]) / (upper - centre)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    weights[0] = 0.0
    return weights.float()


class LogMelFrontEnd(nn.Module):
    """Waveform `(B, N)` at 16 kHz -> log-mel `(B, frames, mel_bins)`, one frame per 10 ms hop.

    25 ms periodic-Hann frames, |FFT(512)|, 64 HTK mel bands 125-7500 Hz, log(mel + 0.01). The waveform is
    zero-padded by (window - hop) / 2 on each side, so N samples give exactly N / hop frames and frame i
    is centred on the i-th 10 ms of the input. With `centre=False` there is no padding (VGGish's own framing,
    which the published DiffSal uses): 1 + (N - window) // hop frames, frame i starting at sample i * hop.
    """

    def __init__(self, config: AudioEncoderConfig, centre: bool = True) -> None:
        super().__init__()
        self.centre = centre
        self.window_samples = config.window_samples
        self.hop_samples = config.hop_samples
        self.fft_size = config.fft_size
        self.log_offset = config.log_offset
        n = torch.arange(self.window_samples, dtype=torch.float64)
        window = 0.5 - 0.5 * torch.cos(2 * math.pi * n / self.window_samples)  # periodic Hann
        self.register_buffer("window", window.float(), persistent=False)
        filterbank = mel_filterbank(config.num_mel_bins, config.fft_size // 2 + 1, config.sample_rate_hz,
                                    config.mel_min_hz, config.mel_max_hz)
        self.register_buffer("mel_weights", filterbank, persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        device_type = waveform.device.type
        # The FFT and log need float32 even inside a bf16/fp16 autocast region.
        no_autocast = torch.autocast(device_type, enabled=False) if device_type in ("cpu", "cuda") else nullcontext()
        with no_autocast:
            waveform = waveform.float()
            pad = self.window_samples - self.hop_samples if self.centre else 0
            padded = F.pad(waveform, (pad // 2, pad - pad // 2)) if pad else waveform
            frames = padded.unfold(-1, self.window_samples, self.hop_samples)  # (B, frames, window)
            spectrum = torch.fft.rfft(frames * self.window, n=self.fft_size).abs()
            return torch.log(spectrum @ self.mel_weights + self.log_offset)


def frame_examples(log_mel: torch.Tensor, num_examples: int, example_frames: int, hop_frames: int) -> torch.Tensor:
    """Cut `(B, frames, mel)` into `(B, num_examples, example_frames, mel)` centred on the window.

    Longer inputs are cropped symmetrically; shorter ones are an error (the loader cut too little audio).
    """
    needed = example_frames + (num_examples - 1) * hop_frames
    available = log_mel.shape[1]
    if available < needed:
        raise InputError(f"audio gives {available} log-mel frames; the model needs {needed}")
    start = (available - needed) // 2
    span = log_mel[:, start : start + needed]
    return span.unfold(1, example_frames, hop_frames).transpose(2, 3)


class VGGishTrunk(nn.Module):
    """VGGish conv layers: conv-M-conv-M-conv-conv-M-conv-conv-M, ReLU after each conv.

    `(N, 1, H, W)` -> `(N, C4, H/16, W/16)`; the `features.N` indices match `vggish-10086976.pth`.
    Trained from scratch it starts from VGG's He initialisation: with torch's default conv init the six
    layers shrink the signal so far that the output hardly differs between sounds (across-clip spread of the
    tiny trunk's output 0.002 vs 0.107 with He init), and the audio path learns nothing.
    """

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        c1, c2, c3, c4 = channels
        layers: list[nn.Module] = []
        in_channels = 1
        for item in (c1, "M", c2, "M", c3, c3, "M", c4, c4, "M"):
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                conv = nn.Conv2d(in_channels, item, 3, padding=1)
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(conv.bias)
                layers += [conv, nn.ReLU(inplace=True)]
                in_channels = item
        self.features = nn.Sequential(*layers)
        self.out_channels = c4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class TransformerLayer(nn.Module):
    """Pre-norm transformer encoder layer (GELU MLP) on `(B, N, C)`, attention by `scaled_dot_product_attention`.

    The parameters, their names and their initialisation are those of `nn.TransformerEncoderLayer(norm_first=True,
    activation="gelu")`, so models saved with it load unchanged; its inference fast path multiplies the
    attention matrices out with separate matmuls instead.
    """

    def __init__(self, channels: int, num_heads: int, hidden: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.self_attn = nn.MultiheadAttention(channels, num_heads, batch_first=True)  # holds the projections
        self.linear1 = nn.Linear(channels, hidden)
        self.linear2 = nn.Linear(hidden, channels)
        self.norm1 = nn.LayerNorm(channels)
        self.norm2 = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, channels = x.shape
        qkv = F.linear(self.norm1(x), self.self_attn.in_proj_weight, self.self_attn.in_proj_bias)
        q, k, v = qkv.view(batch, tokens, 3, self.num_heads, channels // self.num_heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, tokens, channels)
        x = x + self.self_attn.out_proj(attended)
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))


class TemporalEnhancement(nn.Module):
    """Transformer over all audio tokens `(B, C, E, h, w)` with a learned position embedding per example."""

    def __init__(self, channels: int, num_examples: int, num_layers: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.position = nn.Parameter(torch.zeros(num_examples, channels))
        nn.init.trunc_normal_(self.position, std=0.02)
        self.layers = nn.ModuleList(
            TransformerLayer(channels, num_heads, round(channels * mlp_ratio)) for _ in range(num_layers)
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        batch, channels, examples, height, width = features.shape
        tokens = features.permute(0, 2, 3, 4, 1) + self.position[:, None, None, :]  # (B, E, h, w, C)
        tokens = tokens.reshape(batch, examples * height * width, channels)
        for layer in self.layers:
            tokens = layer(tokens)
        return tokens.reshape(batch, examples, height, width, channels).permute(0, 4, 1, 2, 3)


class AudioEncoder(nn.Module):
    """Waveform `(B, N)` centred on the target frame -> audio features `(B, C, E, h, w)`.

    Paper preset: 24 320 samples (1.52 s) -> 152 log-mel frames -> 9 examples of 64x64 -> resized to 112x192
    -> trunk -> 512 x 9 x 7 x 12, a grid aligned with the coarsest video map.
    """

    def __init__(self, config: AudioEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.frontend = LogMelFrontEnd(config)
        self.trunk = VGGishTrunk(config.trunk_channels)
        self.temporal = TemporalEnhancement(config.trunk_channels[-1], config.num_examples, config.temporal_layers,
                                            config.temporal_heads, config.temporal_mlp_ratio)
        self.trunk_pretrained = False

    @property
    def out_channels(self) -> int:
        return self.trunk.out_channels

    def examples(self, waveform: torch.Tensor) -> torch.Tensor:
        """`(B, N)` -> log-mel examples `(B, E, example_frames, mel_bins)`."""
        config = self.config
        return frame_examples(self.frontend(waveform), config.num_examples, config.example_frames,
                              config.example_hop_frames)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        examples = self.examples(waveform)
        batch, count = examples.shape[:2]
        images = examples.reshape(batch * count, 1, *examples.shape[2:])
        if self.config.example_size is not None:
            images = F.interpolate(images, size=tuple(self.config.example_size), mode="bilinear", align_corners=False)
        images = images.to(self.trunk.features[0].weight.dtype)
        features = self.trunk(images)  # (B*E, C, h, w)
        features = features.reshape(batch, count, *features.shape[1:]).transpose(1, 2)  # (B, C, E, h, w)
        return self.temporal(features)

    def freeze_trunk(self) -> None:
        for parameter in self.trunk.parameters():
            parameter.requires_grad_(False)

    def load_vggish_weights(self, path: str | Path, strict: bool = True) -> LoadReport:
        """Load the conv layers of a VGGish state dict (`features.*`); `embeddings.*` are read and dropped.

        The trunk is then frozen unless `freeze_pretrained_trunk` is false.
        """
        state = read_state_dict(path)
        report = load_into(self.trunk, state, source=str(path), ignore=lambda key: key.startswith("embeddings."),
                           strict=strict)
        self.trunk_pretrained = True
        if self.config.freeze_pretrained_trunk:
            self.freeze_trunk()
        return report
