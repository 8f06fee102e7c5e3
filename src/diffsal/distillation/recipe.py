"""The distillation recipe: the teacher, the unlabelled videos, the student, the loss, and the trainer's sections.

Loaded like a training recipe (YAML plus ``key=value`` overrides, every key typed and checked, a bad one named).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from diffsal.training.config import (MAX_SEED, MAX_WORKERS, OptimSection, TrainSection, check_loop_sections,
                                     raise_first_failed)
from diffsal.typed_config import apply_overrides, from_dict, load_yaml

TEACHER_CACHE_DIR = "teacher_cache"  # in the run folder, unless `teacher_cache` names a shared one


@dataclass
class TeacherSection:
    """Where the target maps come from: a model folder (any architecture) run with these settings, or a folder
    of maps (what `diffsal predict` wrote, in any format, or one image per frame from another tool)."""

    path: str = ""
    steps: int | None = None  # DDIM steps of a model teacher (None: its config's)
    samples: int = 1  # diffusion samples averaged per map
    seed: int = 0
    precision: Literal["fp32", "bf16"] = "fp32"
    batch_size: int | None = None  # clips per forward pass (None: chosen for the device)


@dataclass
class VideosSection:
    """The unlabelled videos: files, folders of files, or dataset trees (only their frames and sound are read)."""

    paths: list[str] = field(default_factory=list)
    databases: list[str] | None = None  # of a STAViS tree (None: all)
    split: str = "1"  # of a STAViS tree: 1, 2, 3 or all
    # of a dataset tree: STAViS train/test, DHF1K train/val/test/all, challenge train/public_test/private_test/test
    part: str = "train"
    without_sound: Literal["refuse", "silence"] = "refuse"  # a silent video for an audio-visual student
    held_out_fraction: float = 0.1  # videos kept out of training: checkpoint selection and the agreement table
    held_out_seed: int = 0
    train_stride: int = 16  # one training clip per this many frames
    random_offset: bool = True
    validation_stride: int = 16  # frames between the validation clips of a held-out video
    validation_max_clips: int = 64
    num_workers: int = 2


@dataclass
class StudentSection:
    """The network that learns: a model preset or a saved model folder, with config overrides."""

    model: str = "fast"
    overrides: dict[str, Any] = field(default_factory=dict)  # nested keys of the student's config (a preset)
    seed_from_teacher: bool = True  # copy the teacher's encoder tensors that fit (same names and shapes)


@dataclass
class DistillConfig:
    out_dir: str = "runs/distill"
    teacher: TeacherSection = field(default_factory=TeacherSection)
    videos: VideosSection = field(default_factory=VideosSection)
    student: StudentSection = field(default_factory=StudentSection)
    loss: Literal["kl_cc", "diffusion"] = "kl_cc"
    teacher_cache: str | None = None  # a shared cache folder (None: teacher_cache/ in the run folder)
    optim: OptimSection = field(default_factory=OptimSection)
    train: TrainSection = field(default_factory=TrainSection)

    def __post_init__(self) -> None:
        check_loop_sections(self.optim, self.train)
        teacher, videos = self.teacher, self.videos
        checks = [
            ("teacher.path", teacher.path, "a model folder or a folder of maps", bool(teacher.path.strip())),
            ("teacher.steps", teacher.steps, ">= 1 or null", teacher.steps is None or teacher.steps >= 1),
            ("teacher.samples", teacher.samples, ">= 1", teacher.samples >= 1),
            ("teacher.seed", teacher.seed, f"in [0, {MAX_SEED}]", 0 <= teacher.seed <= MAX_SEED),
            ("teacher.batch_size", teacher.batch_size, ">= 1 or null",
             teacher.batch_size is None or teacher.batch_size >= 1),
            ("videos.paths", videos.paths, "a non-empty list of videos, folders or dataset roots", bool(videos.paths)),
            ("videos.split", videos.split, "1, 2, 3 or all", videos.split in ("1", "2", "3", "all")),
            ("videos.held_out_fraction", videos.held_out_fraction, "in (0, 1)", 0 < videos.held_out_fraction < 1),
            ("videos.held_out_seed", videos.held_out_seed, f"in [0, {MAX_SEED}]",
             0 <= videos.held_out_seed <= MAX_SEED),
            ("videos.train_stride", videos.train_stride, ">= 1", videos.train_stride >= 1),
            ("videos.validation_stride", videos.validation_stride, ">= 1", videos.validation_stride >= 1),
            ("videos.validation_max_clips", videos.validation_max_clips, ">= 1", videos.validation_max_clips >= 1),
            ("videos.num_workers", videos.num_workers, f"in [0, {MAX_WORKERS}]",
             0 <= videos.num_workers <= MAX_WORKERS),
            ("student.model", self.student.model, "a preset name or a model folder", bool(self.student.model.strip())),
            ("out_dir", self.out_dir, "a path", bool(self.out_dir.strip())),
        ]
        raise_first_failed(checks)

    @property
    def cache_dir(self) -> Path:
        return Path(self.teacher_cache) if self.teacher_cache is not None else Path(self.out_dir) / TEACHER_CACHE_DIR


def load_distill_config(path: str | Path | None, overrides: list[str] = ()) -> DistillConfig:
    """Read a distillation recipe (the defaults when `path` is None) and apply ``key=value`` overrides."""
    data = load_yaml(path) if path is not None else {}
    return from_dict(DistillConfig, apply_overrides(data, list(overrides)))
