"""The training loop: one process or DistributedDataParallel under torchrun, resumable at any checkpoint."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import Dataset

from diffsal.errors import DiffSalError, InputError
from diffsal.io.atomic import atomic_output
from diffsal.metrics import cc, nss
from diffsal.models.saved_model import SavedModel
from diffsal.models.weights import load_into
from diffsal.seeds import TRAINING_NOISE_STREAM
from diffsal.training.checkpoint import CheckpointStore
from diffsal.training.config import OptimSection, TrainConfig, TrainSection, load_train_config
from diffsal.training.data import BatchStream, build_datasets, validation_batches
from diffsal.training.distributed import TrainingGroup, init_distributed, shutdown_distributed
from diffsal.training.lr_schedule import lr_multiplier
from diffsal.training.objective import LossModule, Objective
from diffsal.training.recipe_model import model_from_recipe
from diffsal.training.reproducibility import rng_state, seed_everything, set_rng_state
from diffsal.training.run_folder import CHECKPOINTS_DIR, RESOLVED_CONFIG, check_run_folder, clear_run
from diffsal.training.run_log import NullRunLog, RunLog
from diffsal.typed_config import to_dict


class TrainingError(DiffSalError):
    """Training cannot go on (diverged, out of memory); the message says what to change."""


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    best_step: int | None
    best_cc: float | None
    last_checkpoint: Path | None
    best_checkpoint: Path | None
    wall_s: float

    def summary_lines(self) -> list[str]:
        """What a finished run reports: the best and last checkpoints and the run folder."""
        lines = []
        if self.best_checkpoint is not None:
            lines.append(f"best checkpoint (validation CC {self.best_cc:.4f} at step {self.best_step}): "
                         f"{self.best_checkpoint}")
        lines.append(f"last checkpoint (step {self.steps}): {self.last_checkpoint}")
        lines.append(f"run folder: {self.run_dir}  ({self.wall_s:.0f} s)")
        return lines


@dataclass
class TrainingSetup:
    """The network a run trains, notes on what its weights start from, and its clips (validation: None)."""

    model: SavedModel
    notes: list[str]
    train_set: Dataset
    validation_set: Dataset | None


@dataclass
class TrainingJob:
    """What the training loop runs: the recipe sections it reads and how the network and the clips are made.

    `build(group, resumed)` runs on every rank after the process group is up and the seed is set, with the
    last checkpoint of a resumed run (None for a fresh one). `train` and `distill` are the two kinds of job.
    """

    recipe: dict[str, Any]  # the whole recipe: written to resolved_config.yaml and into every checkpoint
    out_dir: str
    optim: OptimSection
    train: TrainSection
    num_workers: int
    validation_max_clips: int
    build: Callable[[TrainingGroup, Path | None], TrainingSetup]
    objective: Objective = "diffusion"
    notes: list[str] = field(default_factory=list)  # logged first, before the setup's notes
    own_entries: tuple[str, ...] = ()  # what else the job writes in the run folder (deleted by --overwrite)
    kept_entries: tuple[str, ...] = ()  # what else may be in the run folder and stays (a shareable cache)


def _seed(*parts: int) -> int:
    """A 63-bit seed mixed from integers (seed, rank, step, ...)."""
    sequence = np.random.SeedSequence([part & 0xFFFFFFFF for part in parts])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] % (2**63))


def _optimizer(optim: OptimSection, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
    if optim.name == "sgd":
        return torch.optim.SGD(parameters, lr=optim.lr, momentum=optim.betas[0], weight_decay=optim.weight_decay)
    optimizer_class = torch.optim.AdamW if optim.name == "adamw" else torch.optim.Adam
    return optimizer_class(parameters, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)


def train_recipe(recipe: str | Path | None, overrides: list[str] = (), *, resume: bool = False,
                 overwrite: bool = False, device: str = "auto") -> TrainResult:
    """Train the recipe file `recipe` (None: the defaults) with ``key=value`` `overrides` (see `train`)."""
    return train(load_train_config(recipe, list(overrides)), resume=resume, overwrite=overwrite, device=device)


def train(config: TrainConfig, *, resume: bool = False, overwrite: bool = False, device: str = "auto") -> TrainResult:
    """Run (or resume) the recipe `config`; returns where the checkpoints are.

    A fresh run refuses a folder that holds another run's checkpoints unless `overwrite` (see
    `diffsal.training.run_folder`); the check runs before anything is built or written.
    """
    def build(group: TrainingGroup, resumed: Path | None) -> TrainingSetup:
        model, notes = model_from_recipe(config.model, resumed)
        model.to(group.device)
        train_set, validation_set = build_datasets(config.data, model.config, config.train.seed,
                                                   config.validation_seed)
        return TrainingSetup(model, notes, train_set, validation_set)

    job = TrainingJob(to_dict(config), config.out_dir, config.optim, config.train, config.data.num_workers,
                      config.data.validation_max_clips, build)
    return run_job(job, resume=resume, overwrite=overwrite, device=device)


def run_job(job: TrainingJob, *, resume: bool = False, overwrite: bool = False, device: str = "auto") -> TrainResult:
    """Run (or resume) a training job in its run folder (the folder rules of `train`)."""
    run_dir = check_run_folder(job.out_dir, resume=resume, overwrite=overwrite, recipe=job.recipe,
                               known=job.own_entries + job.kept_entries)
    group = init_distributed(device)
    try:
        if overwrite and group.place.is_main and run_dir.exists():
            clear_run(run_dir, also=job.own_entries)
        group.barrier()
        return _Trainer(job, group, resume).run()
    finally:
        shutdown_distributed()


class _Trainer:
    def __init__(self, job: TrainingJob, group: TrainingGroup, resume: bool) -> None:
        self.job = job
        self.group = group
        self.run_dir = Path(job.out_dir)
        self.store = CheckpointStore(self.run_dir / CHECKPOINTS_DIR)
        self.resume = resume
        train = job.train
        seed_everything(train.seed)  # the same initial weights on every rank
        with warnings.catch_warnings(record=True) as caught:  # videos left out by data.skip_bad, ...
            warnings.simplefilter("always")
            setup = job.build(group, self.store.path("last") if resume else None)
        self.model, self.train_set, self.validation_set = setup.model, setup.train_set, setup.validation_set
        self.model.to(group.device)
        self.notes = job.notes + setup.notes + [f"warning: {warning.message}" for warning in caught]
        self.stream = BatchStream(self.train_set, train.batch_size, group, train.seed, job.num_workers)
        self.total_steps = self._total_steps()
        trainable = [parameter for parameter in self.model.parameters() if parameter.requires_grad]
        optim = job.optim
        self.optimizer = _optimizer(optim, trainable)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_multiplier(
            optim.schedule, self.total_steps, optim.warmup_steps, optim.milestones, optim.gamma, optim.min_lr_ratio))
        self.scaler = torch.amp.GradScaler(group.device.type, enabled=train.amp == "fp16")
        self.ema = (AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(train.ema_decay), use_buffers=True)
                    if train.ema_decay is not None else None)
        loss_module = LossModule(self.model, job.objective)
        if group.place.distributed:
            device_ids = [group.device.index] if group.device.type == "cuda" else None
            self.loss_module = DistributedDataParallel(loss_module, device_ids=device_ids)
        else:
            self.loss_module = loss_module
        self.step = 0
        self.best_cc: float | None = None
        self.best_step: int | None = None

    # ------------------------------------------------------------------ set-up
    def _total_steps(self) -> int:
        train = self.job.train
        if train.max_steps is not None:
            return train.max_steps
        micro_batches = sum(self.stream.batches_in_epoch(epoch) for epoch in range(train.epochs))
        return max(1, micro_batches // train.grad_accum)

    def _restore(self) -> None:
        folder, state = self.store.load_training_state("last", map_location=self.group.device)
        report = load_into(self.model, state["model"], source=str(folder), strict=False)
        if not report.ok:
            raise InputError(f"{folder}: the checkpoint does not fit the recipe's model: {report.problems()}")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            if state.get("ema") is None:
                raise InputError(f"{folder}: checkpoint has no EMA weights but train.ema_decay is set")
            self.ema.load_state_dict(state["ema"])
        set_rng_state(state["rng"])
        self.step = state["step"]
        self.best_cc, self.best_step = state["best_cc"], state["best_step"]

    # ------------------------------------------------------------------ loop
    def run(self) -> TrainResult:
        started = time.perf_counter()
        if self.resume:
            self._restore()
        log = self._open_log()
        try:
            for note in self.notes:
                log.message(note)
            if self.step >= self.total_steps:
                log.message(f"nothing to do: already at step {self.step} of {self.total_steps}")
            else:
                self._loop(log)
                self._check_replicas(log)
        except torch.OutOfMemoryError as error:
            raise TrainingError(
                f"out of memory at train.batch_size={self.job.train.batch_size}: lower train.batch_size "
                "(keep the global batch with train.grad_accum), set train.amp=bf16, or use a smaller model preset"
            ) from error
        finally:
            log.close()
        return TrainResult(self.run_dir, self.step, self.best_step, self.best_cc, self.store.path("last"),
                           self.store.path("best"), time.perf_counter() - started)

    def _open_log(self):
        if not self.group.place.is_main:
            return NullRunLog()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.run_dir / RESOLVED_CONFIG) as temporary:
            temporary.write_text(yaml.safe_dump(self.job.recipe, sort_keys=False))
        return RunLog(self.run_dir, self.total_steps, start_step=self.step)

    def _loop(self, log) -> None:
        train = self.job.train
        batches = self.stream.iterate(start_batch=self.step * train.grad_accum)
        amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(train.amp)
        clips_per_step = train.batch_size * train.grad_accum * self.group.place.world_size
        while self.step < self.total_steps:
            self.model.train()
            torch.manual_seed(_seed(train.seed, self.group.place.rank, self.step))  # dropout and the like
            loss_sum = 0.0
            for micro in range(train.grad_accum):
                epoch, batch = next(batches)
                frames, audio, target = self._inputs(batch)
                timesteps, noise = self._diffusion_draws(frames.shape[0], micro)
                last_micro = micro == train.grad_accum - 1
                sync = nullcontext() if last_micro or not self.group.place.distributed else self.loss_module.no_sync()
                with sync:
                    with torch.autocast(self.group.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                        loss = self.loss_module(frames, audio, target, timesteps, noise)
                    self.scaler.scale(loss / train.grad_accum).backward()
                loss_sum += float(loss.detach())
            loss_value = self.group.mean(loss_sum / train.grad_accum)
            if not math.isfinite(loss_value):
                last = self.store.path("last")
                raise TrainingError(f"loss became {loss_value} at step {self.step + 1}; the last good checkpoint "
                                    f"is {last or 'none (no checkpoint written yet)'}; lower optim.lr or use "
                                    "train.amp=none")
            self._optimizer_step()
            self.step += 1
            if self.step % train.log_every == 0 or self.step == self.total_steps:
                log.step(self.step, {"loss": loss_value, "lr": self.scheduler.get_last_lr()[0], "epoch": epoch},
                         clips_per_step * (train.log_every if self.step % train.log_every == 0 else 1))
            evaluate = self.step % train.eval_every == 0 or self.step == self.total_steps
            improved = self._validate(log) if evaluate else False
            if improved or self.step % train.checkpoint_every == 0 or self.step == self.total_steps:
                self._save(improved)

    def _inputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        device = self.group.device
        frames = batch["frames"].to(device, non_blocking=True)
        target = batch["target"].to(device, non_blocking=True)
        audio = batch["audio"].to(device, non_blocking=True) if self.model.config.use_audio else None
        return frames, audio, target

    def _optimizer_step(self) -> None:
        clip = self.job.optim.grad_clip
        if clip is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)

    def _diffusion_draws(self, local_batch: int, micro: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Timesteps (B,) and noise (B, K, H, W) of this rank's clips in micro-batch `micro` of this step.

        They are drawn for every clip of the step (all ranks, all accumulated micro-batches) from
        (seed, step), and each rank takes the rows of its clips: `DistributedSampler` deals clip g to
        rank g % world_size, so clip j of rank r in micro-batch m is clip world * (m * batch + j) + r of
        the step. N processes with gradient accumulation therefore compute exactly the loss of one
        process with the same global batch, and a resumed run draws what the uninterrupted run drew.
        """
        world, batch = self.group.place.world_size, self.job.train.batch_size
        clips_per_step = world * batch * self.job.train.grad_accum
        config = self.model.config
        generator = torch.Generator().manual_seed(_seed(self.job.train.seed, TRAINING_NOISE_STREAM, self.step))
        timesteps = self.model.diffusion.sample_timesteps(clips_per_step, generator=generator)
        noise = torch.randn(clips_per_step, config.frames_out, config.height, config.width, generator=generator)
        rows = torch.arange(world * micro * batch + self.group.place.rank, world * (micro + 1) * batch, world)[:local_batch]
        device = self.group.device
        return timesteps[rows].to(device), noise[rows].to(device)

    def _check_replicas(self, log) -> None:
        """Under DDP every rank must hold the same weights; compare a checksum across ranks and log it."""
        if not self.group.place.distributed:
            return
        with torch.no_grad():
            checksum = sum(float(parameter.double().abs().sum()) for parameter in self.model.parameters())
        spread = self.group.max(checksum) - self.group.min(checksum)
        log.write("replicas", self.step, {"weight_checksum": checksum, "checksum_spread": spread})
        if spread > 1e-6 * max(abs(checksum), 1.0):
            raise TrainingError(f"replica weights diverged across ranks (checksum spread {spread:g})")

    @property
    def _inference_model(self) -> SavedModel:
        return self.ema.module if self.ema is not None else self.model

    # ------------------------------------------------------------------ validation and checkpoints
    @torch.no_grad()
    def _validate(self, log) -> bool:
        """Score held-out training videos (CC, NSS of each of the K sampled maps); True if CC improved."""
        if self.validation_set is None:
            return False
        model = self._inference_model
        model.eval()
        train = self.job.train
        batches = validation_batches(self.validation_set, train.batch_size, self.group,
                                     self.job.validation_max_clips, self.job.num_workers)
        generator = torch.Generator(self.group.device).manual_seed(train.seed)
        cc_sum = nss_sum = count = nss_count = 0.0
        shown = None
        for batch in batches:
            frames, audio, target = self._inputs(batch)
            prediction = model.sample(frames, audio, steps=train.sampling_steps, generator=generator).mean
            for index in range(prediction.shape[0]):
                for slot in range(prediction.shape[1]):
                    predicted = prediction[index, slot].float().cpu().numpy()
                    cc_value = cc(predicted, target[index, slot].float().cpu().numpy())
                    if math.isfinite(cc_value):
                        cc_sum, count = cc_sum + cc_value, count + 1
                    fixations = batch["fixations"][index, slot].numpy() > 0 if "fixations" in batch else None
                    if fixations is not None and fixations.any():
                        nss_sum, nss_count = nss_sum + nss(predicted, fixations), nss_count + 1
            if shown is None:
                shown = np.concatenate([prediction[:4, 0].float().cpu().numpy(), target[:4, 0].float().cpu().numpy()])
        total = self.group.sum(count)
        mean_cc = self.group.sum(cc_sum) / total if total else float("nan")
        nss_total = self.group.sum(nss_count)
        mean_nss = self.group.sum(nss_sum) / nss_total if nss_total else float("nan")
        log.write("val", self.step, {"cc": mean_cc, "nss": mean_nss, "maps": total})
        if shown is not None:
            log.images(self.step, "val/prediction_then_target", shown)
        nss_text = f"  NSS {mean_nss:.3f}" if nss_total else ""  # no fixations: the targets are a teacher's maps
        log.message(f"step {self.step}: validation CC {mean_cc:.4f}{nss_text}  ({int(total)} maps)")
        improved = math.isfinite(mean_cc) and (self.best_cc is None or mean_cc > self.best_cc)
        if improved:
            self.best_cc, self.best_step = mean_cc, self.step
        return improved

    def _save(self, improved: bool) -> None:
        if self.group.place.is_main:
            state = {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "rng": rng_state(),
                "step": self.step,
                "best_cc": self.best_cc,
                "best_step": self.best_step,
                "config": self.job.recipe,
            }
            links = ("last", "best") if improved else ("last",)
            self.store.save(self.step, self._inference_model.save_pretrained, state, links=links)
        self.group.barrier()
