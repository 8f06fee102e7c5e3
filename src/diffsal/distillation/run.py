"""`distill`: a student learns to give a teacher's maps on unlabelled videos, in the one training loop.

1. Everything is checked first: the run folder, the teacher (a model folder or a folder of maps that fit every
   video), the videos (readable, with sound for an audio-visual student), the student, the cache's settings.
2. The teacher's maps are computed once into the cache (`TeacherCache`), shared out among torchrun ranks.
3. The student trains on the trainer (`diffsal.training.trainer.run_job`: DDP, exact resume, atomic
   checkpoints, log.jsonl, TensorBoard), its target maps read from the cache; a held-out part of the videos
   selects the checkpoint.
4. The best student is scored against the teacher on the held-out videos (`distill_report.json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diffsal.data.clip_dataset import ClipDataset
from diffsal.data.sampling import validation_videos
from diffsal.data.video_record import VideoRecord
from diffsal.distillation.agreement import Agreement, measure_agreement
from diffsal.distillation.recipe import TEACHER_CACHE_DIR, DistillConfig, load_distill_config
from diffsal.distillation.student import build_student
from diffsal.distillation.teacher import open_teacher
from diffsal.distillation.teacher_cache import CacheProgress, TeacherCache
from diffsal.distillation.videos import distillation_videos, record_key
from diffsal.errors import InputError
from diffsal.io.atomic import write_json
from diffsal.models.loading import load_model
from diffsal.runtime import TorchrunEnv, resolve_device
from diffsal.training.distributed import TrainingGroup
from diffsal.training.reproducibility import seed_everything
from diffsal.training.run_folder import check_run_folder
from diffsal.training.trainer import TrainingJob, TrainingSetup, TrainResult, run_job
from diffsal.typed_config import to_dict

REPORT_NAME = "distill_report.json"


@dataclass
class DistillResult:
    """The training run, and the student's agreement with the teacher (None on torchrun ranks other than 0)."""

    training: TrainResult
    agreement: Agreement | None
    report: Path

    def summary_lines(self) -> list[str]:
        table = self.agreement.table() if self.agreement is not None else []
        return table + self.training.summary_lines() + [f"report: {self.report}"]


def distill_recipe(recipe: str | Path | None, overrides: list[str] = (), *, resume: bool = False,
                   overwrite: bool = False, device: str = "auto", progress: CacheProgress | None = None
                   ) -> DistillResult:
    """Distil the recipe file `recipe` with ``key=value`` `overrides` (see `distill`)."""
    return distill(load_distill_config(recipe, list(overrides)), resume=resume, overwrite=overwrite, device=device,
                   progress=progress)


def split_held_out(records: list[VideoRecord], fraction: float, seed: int) -> tuple[list[VideoRecord],
                                                                                   list[VideoRecord]]:
    """(training videos, held-out videos): a seeded `fraction` of the videos, at least one, held out."""
    if len(records) < 2:
        raise InputError(f"distillation needs at least 2 videos (one is held out to check the student); got "
                         f"{len(records)}")
    held = set(validation_videos([record_key(record) for record in records], fraction, seed))
    return ([record for record in records if record_key(record) not in held],
            [record for record in records if record_key(record) in held])


def distill(config: DistillConfig, *, resume: bool = False, overwrite: bool = False, device: str = "auto",
            progress: CacheProgress | None = None) -> DistillResult:
    """Run (or resume) the distillation `config`; `progress` is called while the teacher's maps are made."""
    recipe = to_dict(config)
    check_run_folder(config.out_dir, resume=resume, overwrite=overwrite, recipe=recipe,
                     known=(TEACHER_CACHE_DIR, REPORT_NAME))
    teacher = open_teacher(config.teacher, device)
    one_step = config.loss == "kl_cc"
    seed_everything(config.train.seed)  # the student's initial weights, the same on every rank
    student, student_notes = build_student(config.student, teacher.model, one_step)
    records = distillation_videos(config.videos, needs_sound=student.config.use_audio)
    teacher.check(records)
    size = (student.config.height, student.config.width)
    cache = TeacherCache(config.cache_dir, size)
    cache.check_signature(teacher.signature())
    cache.check_entries(records)
    train_records, held_out = split_held_out(records, config.videos.held_out_fraction, config.videos.held_out_seed)

    def build(group: TrainingGroup, resumed: Path | None) -> TrainingSetup:
        notes = [f"teacher: {teacher.describe()}"]
        notes += cache.build(teacher, records, group, progress if group.place.is_main else None)
        train_set, validation_set = _clip_sets(config, student.config, cache, train_records, held_out)
        notes.append(f"videos: {len(train_records)} for training, {len(held_out)} held out")
        return TrainingSetup(student, student_notes + notes, train_set, validation_set)

    videos = config.videos
    job = TrainingJob(recipe, config.out_dir, config.optim, config.train, videos.num_workers,
                      videos.validation_max_clips, build, objective="diffusion" if not one_step else "kl_cc",
                      own_entries=(REPORT_NAME,),
                      kept_entries=(TEACHER_CACHE_DIR,) if config.teacher_cache is None else ())
    training = run_job(job, resume=resume, overwrite=overwrite, device=device)
    report = Path(config.out_dir) / REPORT_NAME
    if not TorchrunEnv.from_env().is_main:
        return DistillResult(training, None, report)
    best = training.best_checkpoint or training.last_checkpoint
    chosen = resolve_device(device)
    model = load_model(best, map_location=chosen).to(chosen)
    _, validation_set = _clip_sets(config, model.config, cache, train_records, held_out)
    agreement = measure_agreement(model, validation_set, len(held_out), config.train.batch_size, chosen,
                                  config.train.sampling_steps)
    write_json(report, {"student": str(best), "teacher": config.teacher.path, "teacher_cache": str(cache.root),
                        "loss": config.loss, "held_out_videos": [record_key(record) for record in held_out],
                        "agreement": agreement.to_dict()})
    return DistillResult(training, agreement, report)


def _clip_sets(config: DistillConfig, model_config, cache: TeacherCache, train_records: list[VideoRecord],
               held_out: list[VideoRecord]) -> tuple[ClipDataset, ClipDataset]:
    videos = config.videos
    common = {"clip_length": model_config.num_frames, "frames_out": model_config.frames_out,
              "preprocessing": model_config.preprocessing(), "annotations": False}
    train_set = ClipDataset(train_records, sampling="sparse", stride=videos.train_stride,
                            random_offset=videos.random_offset, seed=config.train.seed,
                            target_maps=cache.reader(train_records), **common)
    validation_set = ClipDataset(held_out, sampling="sparse", stride=videos.validation_stride, random_offset=False,
                                 target_maps=cache.reader(held_out), **common)
    return train_set, validation_set
