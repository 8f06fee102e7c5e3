"""Configuration of the published DiffSal network (the authors' released code), its two kinds and a tiny size.

`PublishedConfig.preset("av")` / `("visual")` are the released audio-visual and DHF1K visual-only models;
`"tiny-av"` / `"tiny-visual"` keep the published structure (16 frames, 9 slots, 9 audio examples) at widths that
train on a CPU, for tests. `to_dict` / `from_dict` round-trip through `config.json`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from diffsal.errors import ConfigError
from diffsal.models.config import DiffusionConfig, VideoEncoderConfig, video_feature_sizes
from diffsal.models.preprocessing import FrameTransform, Preprocessing
from diffsal.models.published.preprocessing import PublishedAudioExamples
from diffsal.typed_config import from_dict, to_dict

Architecture = Literal["published-av", "published-visual"]
ARCHITECTURES: tuple[str, ...] = ("published-av", "published-visual")
PRESETS = ("av", "visual", "tiny-av", "tiny-visual")

# Frame statistics of the two released pipelines.
STAVIS_MEAN_255 = (114.7748, 107.7354, 99.475)  # 0-255 RGB values (the audio-visual models)
STAVIS_STD_255 = (38.7568578, 37.88248729, 40.02898126)
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # [0, 1] RGB values (the DHF1K model)
IMAGENET_STD = (0.229, 0.224, 0.225)


def published_video_config(**changes: Any) -> VideoEncoderConfig:
    """MViTv2-S as the published code builds it: stage norms in the stream, LayerNorm eps 1e-5, relative-position
    tables of a 224x224 grid, no stochastic depth."""
    return VideoEncoderConfig(stage_norms=True, layer_norm_eps=1e-5, rel_pos_size=(224, 224),
                              stochastic_depth_prob=0.0, **changes)


@dataclass
class PublishedAudioConfig:
    """VGGish conv trunk (frozen: the published code runs it without gradients) and a one-layer transformer."""

    trunk_channels: tuple[int, ...] = (64, 128, 256, 512)
    num_examples: int = 9
    example_size: tuple[int, int] = (112, 192)  # each 64x64 log-mel example is resized to this before the trunk
    heads: int = 2
    head_dim: int = 64
    mlp_dim: int = 256

    def validate(self, prefix: str) -> None:
        if len(self.trunk_channels) != 4 or min(self.trunk_channels) < 1:
            raise ConfigError(f"{prefix}.trunk_channels must be 4 positive integers, got {list(self.trunk_channels)}")
        for name in ("num_examples", "heads", "head_dim", "mlp_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{prefix}.{name} must be positive, got {getattr(self, name)}")
        if len(self.example_size) != 2 or min(self.example_size) < 16:
            raise ConfigError(f"{prefix}.example_size must be two integers >= 16, got {list(self.example_size)}")


@dataclass
class PublishedUNetConfig:
    """The published Saliency-UNet; its per-scale widths are those of the video encoder."""

    attention_heads: int = 2
    mlp_ratio: float = 2.0
    kv_strides: tuple[int, ...] = (2, 4, 8, 16)  # per decoder stage, coarsest first: keys/values pooled by this
    temporal_kernel: int = 5  # the slot-collapsing conv (kernel = stride): reads the first 5 of the 9 slots
    noise_dropout: float = 0.1  # in the noise branch's ResNet blocks (training only)

    def validate(self, prefix: str) -> None:
        if self.attention_heads < 1 or self.temporal_kernel < 1:
            raise ConfigError(f"{prefix}.attention_heads and {prefix}.temporal_kernel must be positive")
        if len(self.kv_strides) != 4 or min(self.kv_strides) < 1:
            raise ConfigError(f"{prefix}.kv_strides must be 4 positive integers, got {list(self.kv_strides)}")
        if self.mlp_ratio <= 0:
            raise ConfigError(f"{prefix}.mlp_ratio must be positive, got {self.mlp_ratio}")
        if not 0.0 <= self.noise_dropout < 1.0:
            raise ConfigError(f"{prefix}.noise_dropout must be in [0, 1), got {self.noise_dropout}")


@dataclass
class PublishedFramesConfig:
    """How the published data pipeline turns decoded RGB frames into the network's input.

    `resize_steps`: PIL resizes `(width, height, filter)` of the decoded frame, in order (the last one gives the
    network size); `pixel_scale` multiplies the uint8 values before `mean`/`std` are applied.
    """

    resize_steps: tuple[tuple[int, int, str], ...] = ((320, 240, "bicubic"), (384, 224, "bilinear"))
    pixel_scale: float = 1.0
    mean: tuple[float, float, float] = STAVIS_MEAN_255
    std: tuple[float, float, float] = STAVIS_STD_255

    def validate(self, prefix: str, size: tuple[int, int]) -> None:
        if not self.resize_steps or tuple(self.resize_steps[-1][:2]) != (size[1], size[0]):
            raise ConfigError(f"{prefix}.resize_steps must end at the network size {size[1]}x{size[0]} "
                              f"(width x height), got {[list(step) for step in self.resize_steps]}")
        if self.pixel_scale <= 0 or min(self.std) <= 0:
            raise ConfigError(f"{prefix}.pixel_scale and {prefix}.std must be positive")


@dataclass
class PublishedConfig:
    """Everything that fixes the published network's shapes, its input pipeline and its diffusion process."""

    architecture: Architecture = "published-av"
    num_frames: int = 16
    height: int = 224
    width: int = 384
    video: VideoEncoderConfig = field(default_factory=published_video_config)
    audio: PublishedAudioConfig = field(default_factory=PublishedAudioConfig)
    unet: PublishedUNetConfig = field(default_factory=PublishedUNetConfig)
    frames: PublishedFramesConfig = field(default_factory=PublishedFramesConfig)
    # Maps in [0, 1] at scale 1; DDIM with leading timesteps, one step as the released config samples.
    diffusion: DiffusionConfig = field(default_factory=lambda: DiffusionConfig(
        map_range="unit", signal_scale=1.0, sampling_steps=1, timestep_spacing="leading"))

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}")
        if self.num_frames < 2 or self.height < 32 or self.width < 32 or self.height % 32 or self.width % 32:
            raise ConfigError(f"num_frames must be >= 2 and height/width multiples of 32 (the decoder doubles the "
                              f"coarsest grid three times), got {self.num_frames}x{self.height}x{self.width}")
        self.video.validate("video")
        if not self.video.stage_norms:
            raise ConfigError("video.stage_norms must be true: the published encoder normalises its stage outputs")
        self.audio.validate("audio")
        self.unet.validate("unet")
        self.frames.validate("frames", (self.height, self.width))
        self.diffusion.validate("diffusion")
        slots = self.num_slots
        if self.unet.temporal_kernel > slots:
            raise ConfigError(f"unet.temporal_kernel={self.unet.temporal_kernel} exceeds the {slots} slots")
        if self.use_audio:
            coarsest = self.feature_sizes[-1][2:]
            audio_grid = (self.audio.example_size[0] // 16, self.audio.example_size[1] // 16)
            if audio_grid != coarsest:
                raise ConfigError(f"audio.example_size {list(self.audio.example_size)} gives a {audio_grid} grid; "
                                  f"the coarsest video map is {coarsest} (example_size = 16 x that grid)")
            if self.audio.num_examples != slots:
                raise ConfigError(f"audio.num_examples must equal the {slots} decoder slots (the MIM multiplies "
                                  f"them), got {self.audio.num_examples}")

    # Attributes the rest of the project reads from any model config.
    @property
    def use_audio(self) -> bool:
        return self.architecture == "published-av"

    @property
    def num_slots(self) -> int:
        """Slots of the decoder: the T' video slots, plus the noise slot in the audio-visual model."""
        return self.feature_sizes[0][1] + (1 if self.use_audio else 0)

    @property
    def frames_out(self) -> int:
        return 1

    @property
    def target_frame(self) -> int:
        """The clip slot whose map is predicted: the 9th of 16 (the published `median` index rounded up)."""
        return self.num_frames // 2

    @property
    def target_slots(self) -> list[int]:
        return [self.target_frame]

    @property
    def feature_sizes(self) -> list[tuple[int, int, int, int]]:
        """(C, T', H', W') of the four video maps, finest first (MViT's strided convs round up)."""
        return video_feature_sizes(self.video.channels, self.num_frames, self.height, self.width)

    @classmethod
    def preset(cls, name: str) -> PublishedConfig:
        if name not in PRESETS:
            raise ConfigError(f"unknown published preset {name!r}; choose one of {', '.join(PRESETS)}")
        kind, tiny = name.removeprefix("tiny-"), name.startswith("tiny-")
        architecture = "published-av" if kind == "av" else "published-visual"
        frames = PublishedFramesConfig() if kind == "av" else PublishedFramesConfig(
            resize_steps=((384, 224, "bilinear"),), pixel_scale=1 / 255, mean=IMAGENET_MEAN, std=IMAGENET_STD)
        if not tiny:
            return cls(architecture=architecture, frames=frames)
        steps = tuple((128, 64, step[2]) if index == len(frames.resize_steps) - 1 else (160, 80, step[2])
                      for index, step in enumerate(frames.resize_steps))
        return cls(
            architecture=architecture, height=64, width=128,
            video=published_video_config(channels=(16, 32, 64, 128), depths=(1, 1, 1, 1), num_heads=(1, 1, 2, 2)),
            audio=PublishedAudioConfig(trunk_channels=(8, 16, 32, 32), example_size=(32, 64), head_dim=8, mlp_dim=16),
            frames=dataclasses.replace(frames, resize_steps=steps),
        )

    def preprocessing(self) -> Preprocessing:
        """The published input pipeline for this config: PIL-resized frames and, for the audio-visual kind, the
        log-mel examples of the native-rate track."""
        frames = self.frames
        transform = FrameTransform(size=(self.height, self.width), resize_steps=frames.resize_steps,
                                   pixel_scale=frames.pixel_scale, mean=frames.mean, std=frames.std)
        audio = PublishedAudioExamples(self.num_frames, tuple(self.audio.example_size)) if self.use_audio else None
        return Preprocessing(transform, audio)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any) -> PublishedConfig:
        return from_dict(cls, data)
