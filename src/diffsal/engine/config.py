"""The training configuration: typed sections loaded from a YAML recipe plus ``key=value`` overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from diffsal.errors import ConfigError
from diffsal.typed_config import apply_overrides, from_dict, load_yaml


@dataclass
class ModelSection:
    """Which network to train and what it starts from."""

    preset: Literal["paper", "tiny"] = "tiny"
    overrides: dict[str, Any] = field(default_factory=dict)  # nested keys of DiffSalConfig
    init_from: str | None = None  # a saved model folder (e.g. the stage-1 `best`) to start from
    video_weights: str | None = None  # torchvision MViTv2-S Kinetics-400 state dict
    audio_weights: str | None = None  # torchvggish `vggish-10086976.pth`


@dataclass
class DataSection:
    root: str = "runs/synthetic"
    format: Literal["stavis", "dhf1k"] = "stavis"
    databases: list[str] = field(default_factory=lambda: ["Synthetic"])
    split: int = 1
    train_stride: int = 74  # one training clip per this many frames of each video
    random_offset: bool = True  # a new sparse-sampling phase every epoch
    validation_fraction: float = 0.1  # of the *training* videos, held out for checkpoint selection
    validation_stride: int = 8  # validate on every k-th frame of the held-out videos
    validation_max_clips: int = 256
    audio: Literal["required", "optional", "none"] = "required"
    num_workers: int = 2


@dataclass
class OptimSection:
    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)  # Adam/AdamW; SGD uses betas[0] as its momentum
    grad_clip: float | None = 1.0
    schedule: Literal["constant", "step", "cosine"] = "step"
    warmup_steps: int = 0
    milestones: tuple[float, ...] = (0.5, 0.75)  # fractions of the run, for the step schedule
    gamma: float = 0.1
    min_lr_ratio: float = 0.0  # cosine floor


@dataclass
class TrainSection:
    epochs: int | None = 20
    max_steps: int | None = None  # overrides epochs when set
    batch_size: int = 4  # per process
    grad_accum: int = 1
    amp: Literal["none", "bf16", "fp16"] = "none"
    ema_decay: float | None = None
    seed: int = 0
    log_every: int = 10
    eval_every: int = 500  # steps; validation also runs at the end
    checkpoint_every: int = 500
    sampling_steps: int | None = None  # DDIM steps for validation; None = the model config's


@dataclass
class TrainConfig:
    out_dir: str = "runs/train"
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    train: TrainSection = field(default_factory=TrainSection)

    def __post_init__(self) -> None:
        checks = [
            ("train.batch_size", self.train.batch_size, ">= 1", self.train.batch_size >= 1),
            ("train.grad_accum", self.train.grad_accum, ">= 1", self.train.grad_accum >= 1),
            ("train.log_every", self.train.log_every, ">= 1", self.train.log_every >= 1),
            ("train.eval_every", self.train.eval_every, ">= 1", self.train.eval_every >= 1),
            ("train.checkpoint_every", self.train.checkpoint_every, ">= 1", self.train.checkpoint_every >= 1),
            ("optim.lr", self.optim.lr, "> 0", self.optim.lr > 0),
            ("optim.warmup_steps", self.optim.warmup_steps, ">= 0", self.optim.warmup_steps >= 0),
            ("data.train_stride", self.data.train_stride, ">= 1", self.data.train_stride >= 1),
            ("data.validation_stride", self.data.validation_stride, ">= 1", self.data.validation_stride >= 1),
            ("data.num_workers", self.data.num_workers, ">= 0", self.data.num_workers >= 0),
            ("data.validation_fraction", self.data.validation_fraction, "in [0, 1)",
             0 <= self.data.validation_fraction < 1),
        ]
        for key, value, requirement, ok in checks:
            if not ok:
                raise ConfigError(f"{key} must be {requirement}, got {value}")
        if self.train.epochs is None and self.train.max_steps is None:
            raise ConfigError("train.epochs or train.max_steps must be set")
        if self.train.max_steps is not None and self.train.max_steps < 1:
            raise ConfigError(f"train.max_steps must be >= 1, got {self.train.max_steps}")
        if self.train.epochs is not None and self.train.epochs < 1:
            raise ConfigError(f"train.epochs must be >= 1, got {self.train.epochs}")
        if self.optim.grad_clip is not None and self.optim.grad_clip <= 0:
            raise ConfigError(f"optim.grad_clip must be positive or null, got {self.optim.grad_clip}")
        if self.train.ema_decay is not None and not 0 < self.train.ema_decay < 1:
            raise ConfigError(f"train.ema_decay must be in (0, 1) or null, got {self.train.ema_decay}")


def load_train_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    """Read a recipe (or start from the defaults when `path` is None) and apply overrides."""
    data = load_yaml(path) if path is not None else {}
    return from_dict(TrainConfig, apply_overrides(data, list(overrides)))
