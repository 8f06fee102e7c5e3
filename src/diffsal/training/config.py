"""The training configuration: typed sections loaded from a YAML recipe plus ``key=value`` overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from diffsal.errors import ConfigError
from diffsal.typed_config import apply_overrides, from_dict, load_yaml

# Bounds that turn absurd values into a message naming the key instead of a failure deep in torch.
MAX_SEED = 2**63 - 1
MAX_BATCH = 65_536
MAX_WORKERS = 256


@dataclass
class ModelSection:
    """Which network to train and what it starts from."""

    preset: Literal["paper", "tiny", "fast"] = "tiny"
    overrides: dict[str, Any] = field(default_factory=dict)  # nested keys of DiffSalConfig
    init_from: str | None = None  # a saved model folder (e.g. the stage-1 `best`) to start from
    video_weights: str | None = None  # torchvision MViTv2-S Kinetics-400 state dict
    audio_weights: str | None = None  # torchvggish `vggish-10086976.pth`


@dataclass
class DataSection:
    root: str = "runs/synthetic"
    format: Literal["stavis", "dhf1k", "challenge"] = "stavis"
    databases: list[str] = field(default_factory=lambda: ["Synthetic"])
    split: int = 1
    train_stride: int = 74  # one training clip per this many frames of each video
    random_offset: bool = True  # a new sparse-sampling phase every epoch
    validation_fraction: float = 0.1  # of the *training* videos, held out for checkpoint selection
    validation_seed: int | None = None  # which videos are held out; None: train.seed
    validation_stride: int = 8  # validate on every k-th frame of the held-out videos
    validation_max_clips: int = 256
    audio: Literal["required", "optional", "none"] = "required"
    skip_bad: bool = False  # leave out (and list) videos with problems instead of stopping
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
        check_loop_sections(self.optim, self.train)
        data = self.data
        checks = [
            ("data.split", data.split, "1, 2 or 3", data.split in (1, 2, 3)),
            ("data.train_stride", data.train_stride, ">= 1", data.train_stride >= 1),
            ("data.validation_stride", data.validation_stride, ">= 1", data.validation_stride >= 1),
            ("data.validation_max_clips", data.validation_max_clips, ">= 1", data.validation_max_clips >= 1),
            ("data.validation_seed", data.validation_seed, f"in [0, {MAX_SEED}] or null",
             data.validation_seed is None or 0 <= data.validation_seed <= MAX_SEED),
            ("data.num_workers", data.num_workers, f"in [0, {MAX_WORKERS}]", 0 <= data.num_workers <= MAX_WORKERS),
            ("data.validation_fraction", data.validation_fraction, "in [0, 1)", 0 <= data.validation_fraction < 1),
            ("data.databases", data.databases, "a non-empty list", bool(data.databases)),
            ("out_dir", self.out_dir, "a path", bool(self.out_dir.strip())),
        ]
        raise_first_failed(checks)

    @property
    def validation_seed(self) -> int:
        """The seed that picks the held-out validation videos."""
        return self.train.seed if self.data.validation_seed is None else self.data.validation_seed


def raise_first_failed(checks: list[tuple[str, Any, str, bool]]) -> None:
    """ConfigError for the first (key, value, requirement, ok) whose `ok` is False, naming the key."""
    for key, value, requirement, ok in checks:
        if not ok:
            raise ConfigError(f"{key} must be {requirement}, got {value}")


def check_loop_sections(optim: OptimSection, train: TrainSection) -> None:
    """ConfigError naming the first key of the `optim` and `train` sections (any recipe's) that is out of range."""
    checks = [
        ("train.batch_size", train.batch_size, f"in [1, {MAX_BATCH}]", 1 <= train.batch_size <= MAX_BATCH),
        ("train.grad_accum", train.grad_accum, f"in [1, {MAX_BATCH}]", 1 <= train.grad_accum <= MAX_BATCH),
        ("train.log_every", train.log_every, ">= 1", train.log_every >= 1),
        ("train.eval_every", train.eval_every, ">= 1", train.eval_every >= 1),
        ("train.checkpoint_every", train.checkpoint_every, ">= 1", train.checkpoint_every >= 1),
        ("train.seed", train.seed, f"in [0, {MAX_SEED}]", 0 <= train.seed <= MAX_SEED),
        ("train.epochs", train.epochs, ">= 1 or null", train.epochs is None or train.epochs >= 1),
        ("train.max_steps", train.max_steps, ">= 1 or null", train.max_steps is None or train.max_steps >= 1),
        ("train.sampling_steps", train.sampling_steps, ">= 1 or null",
         train.sampling_steps is None or train.sampling_steps >= 1),
        ("train.ema_decay", train.ema_decay, "in (0, 1) or null",
         train.ema_decay is None or 0 < train.ema_decay < 1),
        ("optim.lr", optim.lr, "> 0", optim.lr > 0),
        ("optim.weight_decay", optim.weight_decay, ">= 0", optim.weight_decay >= 0),
        ("optim.betas", list(optim.betas), "two numbers in [0, 1)", all(0 <= beta < 1 for beta in optim.betas)),
        ("optim.grad_clip", optim.grad_clip, "> 0 or null", optim.grad_clip is None or optim.grad_clip > 0),
        ("optim.warmup_steps", optim.warmup_steps, ">= 0", optim.warmup_steps >= 0),
        ("optim.milestones", list(optim.milestones), "increasing fractions in (0, 1)",
         all(0 < value < 1 for value in optim.milestones) and list(optim.milestones) == sorted(optim.milestones)),
        ("optim.gamma", optim.gamma, "> 0", optim.gamma > 0),
        ("optim.min_lr_ratio", optim.min_lr_ratio, "in [0, 1]", 0 <= optim.min_lr_ratio <= 1),
    ]
    raise_first_failed(checks)
    if train.epochs is None and train.max_steps is None:
        raise ConfigError("train.epochs or train.max_steps must be set")


def load_train_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    """Read a recipe (or start from the defaults when `path` is None) and apply overrides."""
    data = load_yaml(path) if path is not None else {}
    return from_dict(TrainConfig, apply_overrides(data, list(overrides)))
