"""Typed configuration of the DiffSal model, its presets, and validation that names the bad key.

`DiffSalConfig.preset("paper")` is the CVPR 2024 configuration (16 frames of 224x384, MViTv2-S, VGGish,
~37 M-parameter Saliency-UNet); `"tiny"` is a small model of the same architecture that trains on a CPU.
`to_dict`/`from_dict` round-trip through JSON (`config.json` of a saved model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from diffsal.errors import ConfigError
from diffsal.models.preprocessing import (
    KINETICS_MEAN,
    KINETICS_STD,
    FrameTransform,
    Preprocessing,
    WaveformWindow,
)
from diffsal.typed_config import from_dict, to_dict

PRESETS = ("paper", "tiny", "fast")


def video_feature_sizes(channels: tuple[int, ...], num_frames: int, height: int, width: int
                        ) -> list[tuple[int, int, int, int]]:
    """(C, T', H', W') of the four MViT maps of a `num_frames` x `height` x `width` clip, finest first: time and
    space halved by the patch embedding (space by 4), space halved per later stage, rounding up as MViT does."""
    time = math.ceil(num_frames / 2)
    map_height, map_width = height // 4, width // 4
    sizes = []
    for stage, stage_channels in enumerate(channels):
        if stage:
            map_height, map_width = math.ceil(map_height / 2), math.ceil(map_width / 2)
        sizes.append((stage_channels, time, map_height, map_width))
    return sizes


@dataclass
class VideoEncoderConfig:
    """MViTv2 video encoder: four stages; the last block of each stage gives one feature map.

    The defaults are torchvision's MViTv2-S (16 blocks: 1, 2, 11, 2 per stage), built for the clip size.
    """

    channels: tuple[int, ...] = (96, 192, 384, 768)
    depths: tuple[int, ...] = (1, 2, 11, 2)
    num_heads: tuple[int, ...] = (1, 2, 4, 8)
    kv_stride: int = 8  # spatial stride of the key/value pooling in stage 1, halved per stage
    stochastic_depth_prob: float = 0.1
    # A LayerNorm per stage applied in the residual stream after the stage's last block (all tokens, the class
    # token included): the map is taken from the normalised tokens, which also go on into the next stage.
    stage_norms: bool = False
    layer_norm_eps: float = 1e-6  # of every LayerNorm of the encoder (blocks, pooling, stage norms)
    # (H, W) image size the relative-position tables are built for (torchvision: 2 * max(q, kv) - 1 entries,
    # over the larger side); at other sizes they are interpolated at run time. None: the clip's own size.
    rel_pos_size: tuple[int, int] | None = None

    def validate(self, prefix: str) -> None:
        for name in ("channels", "depths", "num_heads"):
            values = getattr(self, name)
            if len(values) != 4 or any(value < 1 for value in values):
                raise ConfigError(f"{prefix}.{name} must be 4 positive integers (one per stage), got {list(values)}")
        for stage, (channels, heads) in enumerate(zip(self.channels, self.num_heads)):
            if channels % heads:
                raise ConfigError(f"{prefix}.channels[{stage}]={channels} is not divisible by "
                                  f"{prefix}.num_heads[{stage}]={heads}")
        if self.kv_stride < 1 or self.kv_stride & (self.kv_stride - 1):
            raise ConfigError(f"{prefix}.kv_stride must be a power of two, got {self.kv_stride}")
        if not 0.0 <= self.stochastic_depth_prob < 1.0:
            raise ConfigError(f"{prefix}.stochastic_depth_prob must be in [0, 1), got {self.stochastic_depth_prob}")
        if not self.layer_norm_eps > 0:
            raise ConfigError(f"{prefix}.layer_norm_eps must be positive, got {self.layer_norm_eps}")
        if self.rel_pos_size is not None and (len(self.rel_pos_size) != 2
                                              or any(value < 32 or value % 4 for value in self.rel_pos_size)):
            raise ConfigError(f"{prefix}.rel_pos_size must be null or an image size (height, width), each a multiple "
                              f"of 4 and at least 32, got {list(self.rel_pos_size)}")

    @property
    def output_blocks(self) -> tuple[int, ...]:
        """Indices of the blocks whose outputs are the four maps (0, 2, 13, 15 for MViTv2-S)."""
        ends, total = [], 0
        for depth in self.depths:
            total += depth
            ends.append(total - 1)
        return tuple(ends)


@dataclass
class AudioEncoderConfig:
    """VGGish log-mel front end, DiffSal's example framing, VGGish conv trunk, temporal transformer."""

    sample_rate_hz: int = 16_000
    stft_window_s: float = 0.025
    stft_hop_s: float = 0.010
    fft_size: int = 512
    num_mel_bins: int = 64
    mel_min_hz: float = 125.0
    mel_max_hz: float = 7500.0
    log_offset: float = 0.01
    num_examples: int = 9
    example_frames: int = 64  # 0.64 s of 10 ms log-mel frames
    example_hop_frames: int = 11  # 0.11 s between example starts
    # Each (example_frames x num_mel_bins) example is resized to this (H, W) before the trunk; None keeps it.
    example_size: tuple[int, int] | None = (112, 192)
    trunk_channels: tuple[int, ...] = (64, 128, 256, 512)  # VGGish: conv64-M-conv128-M-conv256x2-M-conv512x2-M
    temporal_layers: int = 1
    temporal_heads: int = 8
    temporal_mlp_ratio: float = 2.0
    freeze_pretrained_trunk: bool = True

    def validate(self, prefix: str) -> None:
        positive = ("sample_rate_hz", "fft_size", "num_mel_bins", "num_examples", "example_frames",
                    "example_hop_frames", "temporal_heads")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{prefix}.{name} must be positive, got {getattr(self, name)}")
        if self.stft_window_s <= 0 or self.stft_hop_s <= 0:
            raise ConfigError(f"{prefix}.stft_window_s and {prefix}.stft_hop_s must be positive")
        if self.window_samples > self.fft_size:
            raise ConfigError(f"{prefix}.fft_size={self.fft_size} is shorter than the STFT window "
                              f"({self.window_samples} samples)")
        if not 0 <= self.mel_min_hz < self.mel_max_hz <= self.sample_rate_hz / 2:
            raise ConfigError(f"{prefix}.mel_min_hz/mel_max_hz must satisfy 0 <= min < max <= Nyquist "
                              f"({self.sample_rate_hz / 2} Hz), got {self.mel_min_hz}/{self.mel_max_hz}")
        if self.log_offset <= 0:
            raise ConfigError(f"{prefix}.log_offset must be positive, got {self.log_offset}")
        if len(self.trunk_channels) != 4 or any(c < 1 for c in self.trunk_channels):
            raise ConfigError(f"{prefix}.trunk_channels must be 4 positive integers, got {list(self.trunk_channels)}")
        if self.trunk_channels[-1] % self.temporal_heads:
            raise ConfigError(f"{prefix}.trunk_channels[-1]={self.trunk_channels[-1]} is not divisible by "
                              f"{prefix}.temporal_heads={self.temporal_heads}")
        height, width = self.example_size if self.example_size is not None else (self.example_frames, self.num_mel_bins)
        if height < 16 or width < 16:
            raise ConfigError(f"{prefix}.example_size must be at least 16x16 (the trunk divides by 16), got {height}x{width}")
        if self.temporal_layers < 0:
            raise ConfigError(f"{prefix}.temporal_layers must be >= 0, got {self.temporal_layers}")
        if self.temporal_mlp_ratio <= 0:
            raise ConfigError(f"{prefix}.temporal_mlp_ratio must be positive, got {self.temporal_mlp_ratio}")

    @property
    def window_samples(self) -> int:
        return round(self.stft_window_s * self.sample_rate_hz)

    @property
    def hop_samples(self) -> int:
        return round(self.stft_hop_s * self.sample_rate_hz)

    @property
    def num_frames(self) -> int:
        """Log-mel frames the examples cover (152 for the paper framing)."""
        return self.example_frames + (self.num_examples - 1) * self.example_hop_frames

    @property
    def window_s(self) -> float:
        """Seconds of audio the model reads around the target frame (1.52 s for the paper framing)."""
        return self.num_frames * self.stft_hop_s

    @property
    def num_samples(self) -> int:
        """Waveform samples in `window_s` at `sample_rate_hz` (24 320 for the paper framing)."""
        return self.num_frames * self.hop_samples


@dataclass
class SaliencyUNetConfig:
    """Saliency-UNet widths; the per-scale widths are those of the video encoder."""

    time_embed_dim: int = 96
    time_hidden_dim: int = 384
    fuse_channels: int = 768  # width of the four stage outputs before they are summed
    head_channels: int = 96
    attention_heads: int = 2
    mlp_ratio: float = 2.0
    kv_pool_size: tuple[int, int] = (3, 6)  # keys/values are pooled to this (H, W) grid per slot
    dropout: float = 0.0
    # How each decoder stage fuses the audio: "mim" (multi-modal interaction module) or "concat" (its ablation:
    # the audio vector concatenated to every visual token).
    audio_fusion: Literal["mim", "concat"] = "mim"
    # Initial bias of the 1x1 head before the sigmoid: sigmoid(-4) ~ 0.02. Saliency maps are mostly near 0;
    # starting at 0.5 instead makes early training a slow crawl out of the sigmoid's flat region.
    output_bias_init: float = -4.0

    def validate(self, prefix: str) -> None:
        for name in ("time_embed_dim", "time_hidden_dim", "fuse_channels", "head_channels", "attention_heads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{prefix}.{name} must be positive, got {getattr(self, name)}")
        if self.time_embed_dim % 2:
            raise ConfigError(f"{prefix}.time_embed_dim must be even, got {self.time_embed_dim}")
        if len(self.kv_pool_size) != 2 or min(self.kv_pool_size) < 1:
            raise ConfigError(f"{prefix}.kv_pool_size must be two positive integers, got {list(self.kv_pool_size)}")
        if self.mlp_ratio <= 0:
            raise ConfigError(f"{prefix}.mlp_ratio must be positive, got {self.mlp_ratio}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"{prefix}.dropout must be in [0, 1), got {self.dropout}")


@dataclass
class DiffusionConfig:
    """The Gaussian process on saliency maps and its DDIM sampler."""

    num_timesteps: int = 1000
    schedule: Literal["cosine"] = "cosine"
    cosine_offset: float = 0.008
    # Maps in [0, 1] enter the diffusion as `map * signal_scale` ("unit") or `(2 map - 1) * signal_scale` ("symmetric").
    # Saliency maps are smooth and highly redundant: at scale 1 the noisy map still shows the answer up to
    # t ~ 750, the network learns to read it and neglects the video and audio (docs/results.md, diagnosis).
    # At 0.1 only small t reveal it, and the conditioning has to do the work.
    map_range: Literal["unit", "symmetric"] = "symmetric"
    signal_scale: float = 0.1
    loss_reduction: Literal["mean", "sum"] = "mean"
    sampling_steps: int = 4
    eta: float = 0.0
    # Which timesteps the sampler visits: "trailing" starts at T-1 (pure noise, as training ends); "leading" is
    # the published code's range(0, T, T // steps), which starts at 0 for one step.
    timestep_spacing: Literal["trailing", "leading"] = "trailing"

    def validate(self, prefix: str) -> None:
        if self.num_timesteps < 2:
            raise ConfigError(f"{prefix}.num_timesteps must be >= 2, got {self.num_timesteps}")
        if self.cosine_offset <= 0:
            raise ConfigError(f"{prefix}.cosine_offset must be positive, got {self.cosine_offset}")
        if self.signal_scale <= 0:
            raise ConfigError(f"{prefix}.signal_scale must be positive, got {self.signal_scale}")
        if not 1 <= self.sampling_steps <= self.num_timesteps:
            raise ConfigError(f"{prefix}.sampling_steps must be in [1, num_timesteps], got {self.sampling_steps}")
        if self.eta < 0:
            raise ConfigError(f"{prefix}.eta must be >= 0, got {self.eta}")


@dataclass
class DiffSalConfig:
    """Everything that fixes the network's shapes and the diffusion process."""

    architecture: ClassVar[str] = "diffsal"  # the name `config.json` and the model registry give this network
    num_frames: int = 16
    height: int = 224
    width: int = 384
    # K: maps predicted per clip, those of the central K frames (1: the centre frame only, the paper's setting).
    # The diffusion runs over the K maps jointly; a video is predicted K frames per clip.
    frames_out: int = 1
    use_audio: bool = True
    video: VideoEncoderConfig = field(default_factory=VideoEncoderConfig)
    audio: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)
    unet: SaliencyUNetConfig = field(default_factory=SaliencyUNetConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.num_frames < 2:
            raise ConfigError(f"num_frames must be >= 2, got {self.num_frames}")
        if not 1 <= self.frames_out <= self.num_frames:
            raise ConfigError(f"frames_out must be in [1, num_frames={self.num_frames}], got {self.frames_out}")
        for name in ("height", "width"):
            value = getattr(self, name)
            if value < 32 or value % 4:
                raise ConfigError(f"{name} must be a multiple of 4 and at least 32, got {value}")
        self.video.validate("video")
        self.audio.validate("audio")
        self.unet.validate("unet")
        self.diffusion.validate("diffusion")

    # Derived quantities other parts of the project need.
    @property
    def audio_window_s(self) -> float:
        """Seconds of 16 kHz audio, centred on the target frame, that the data loader cuts per clip."""
        return self.audio.window_s

    @property
    def sample_rate_hz(self) -> int:
        return self.audio.sample_rate_hz

    @property
    def target_frame(self) -> int:
        """The clip's centre slot (9th of 16): the audio window is centred on it, and with K = 1 it is the target."""
        return self.num_frames // 2

    @property
    def target_slots(self) -> list[int]:
        """Slots of the clip whose maps are predicted: the central `frames_out` (K = 8 of 16: slots 4 .. 11)."""
        first = self.num_frames // 2 - self.frames_out // 2
        return list(range(first, first + self.frames_out))

    def preprocessing(self) -> Preprocessing:
        """How the model's inputs are made: frames scaled to (height, width) while decoding, Kinetics mean/std on
        [0, 1] values; the `audio_window_s` 16 kHz mono waveform centred on the clip's centre frame (None when
        ``use_audio`` is False)."""
        frames = FrameTransform(size=(self.height, self.width), pixel_scale=1 / 255, mean=KINETICS_MEAN, std=KINETICS_STD)
        audio = WaveformWindow(self.audio_window_s, self.sample_rate_hz) if self.use_audio else None
        return Preprocessing(frames, audio)

    @property
    def feature_sizes(self) -> list[tuple[int, int, int, int]]:
        """(C, T', H', W') of the four video maps; MViT's strided convs round up."""
        return video_feature_sizes(self.video.channels, self.num_frames, self.height, self.width)

    @classmethod
    def preset(cls, name: str) -> DiffSalConfig:
        if name == "paper":
            # Relative-position tables of the size torchvision's Kinetics-400 MViTv2-S was trained at (224x224),
            # interpolated at run time to the 224x384 grid: the file's tables load as they are. The maps of all
            # 16 slots per clip (K = 16): the encoders' ~310 GFLOPs are shared by 16 maps instead of computed for
            # each, and on the synthetic benchmark K = 16 is as accurate as K = 1 (docs/results.md).
            return cls(frames_out=16, video=VideoEncoderConfig(rel_pos_size=(224, 224)))
        if name == "tiny":
            return cls(
                num_frames=8,
                height=64,
                width=112,
                video=VideoEncoderConfig(channels=(16, 32, 64, 128), depths=(1, 1, 1, 1), num_heads=(1, 1, 2, 2),
                                         stochastic_depth_prob=0.0),
                audio=AudioEncoderConfig(example_size=(32, 64), trunk_channels=(8, 16, 32, 32), temporal_heads=2),
                unet=SaliencyUNetConfig(time_embed_dim=16, time_hidden_dim=64, fuse_channels=32, head_channels=16,
                                        kv_pool_size=(2, 4)),
            )
        if name == "fast":
            # The student preset of `diffsal distill`: whole `diffsal predict` in real time on a 2-core CPU in fp32
            # (docs/performance.md). All 16 maps of a clip from one pass of the encoders and one step of the
            # decoder; the tiny preset's audio branch, an MViT 1.5x wider than the tiny preset's, 96x160 frames.
            return cls(
                num_frames=16,
                frames_out=16,
                height=96,
                width=160,
                video=VideoEncoderConfig(channels=(24, 48, 96, 192), depths=(1, 1, 1, 1), num_heads=(1, 1, 2, 2),
                                         stochastic_depth_prob=0.0),
                audio=AudioEncoderConfig(example_size=(32, 64), trunk_channels=(8, 16, 32, 32), temporal_heads=2),
                unet=SaliencyUNetConfig(time_embed_dim=16, time_hidden_dim=64, fuse_channels=48, head_channels=24,
                                        kv_pool_size=(2, 4)),
                diffusion=DiffusionConfig(sampling_steps=1),
            )
        raise ConfigError(f"unknown model preset {name!r}; choose one of {', '.join(PRESETS)}")

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any) -> DiffSalConfig:
        """Build from plain data (JSON/YAML); unknown keys and wrong types raise ConfigError naming the key."""
        return from_dict(cls, data)

