"""Training and validation data for a recipe: datasets and resumable, sharded batch streams."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from diffsal.data.av_dataset import AVSaliencyDataset
from diffsal.data.challenge_dataset import ChallengeDataset
from diffsal.data.dhf1k import DHF1KDataset
from diffsal.training.config import DataSection
from diffsal.training.distributed import TrainingGroup
from diffsal.training.reproducibility import worker_init_fn
from diffsal.errors import DiffSalError
from diffsal.models.config import DiffSalConfig
from diffsal.seeds import EPOCH_ORDER_FACTOR


def build_datasets(data: DataSection, model: DiffSalConfig, seed: int,
                   validation_seed: int) -> tuple[Dataset, Dataset | None]:
    """(training clips, validation clips or None). Validation never touches a test list.

    `seed` draws the training clips; `validation_seed` picks which training videos are held out. The clips
    are made by the model's own preprocessing (`model.preprocessing()`: frame transform and audio transform).
    """
    common = dict(
        clip_length=model.num_frames,
        frames_out=model.frames_out,
        preprocessing=model.preprocessing(),
        skip_bad=data.skip_bad,
    )
    if data.format == "dhf1k":
        # DHF1K's own validation videos (601-700) select checkpoints; its test annotations are hidden.
        train = DHF1KDataset(data.root, "train", sampling="sparse", stride=data.train_stride,
                             random_offset=data.random_offset, seed=seed, **common)
        validation = DHF1KDataset(data.root, "val", sampling="sparse", stride=data.validation_stride,
                                  random_offset=False, **common)
        return train, validation
    audio_policy = "none" if not model.use_audio else data.audio
    if data.format == "challenge":
        train = ChallengeDataset(data.root, "train", validation_fraction=data.validation_fraction,
                                 validation_seed=validation_seed, sampling="sparse", stride=data.train_stride,
                                 random_offset=data.random_offset, seed=seed, audio=audio_policy, **common)
        if data.validation_fraction == 0:
            return train, None
        validation = ChallengeDataset(data.root, "val", validation_fraction=data.validation_fraction,
                                      validation_seed=validation_seed, sampling="sparse",
                                      stride=data.validation_stride, random_offset=False, audio=audio_policy,
                                      **common)
        return train, validation
    train = AVSaliencyDataset(data.root, data.databases, data.split, "train",
                              validation_fraction=data.validation_fraction, validation_seed=validation_seed,
                              sampling="sparse", stride=data.train_stride, random_offset=data.random_offset,
                              seed=seed, audio=audio_policy, **common)
    if data.validation_fraction == 0:
        return train, None
    validation = AVSaliencyDataset(data.root, data.databases, data.split, "val",
                                   validation_fraction=data.validation_fraction, validation_seed=validation_seed,
                                   sampling="sparse", stride=data.validation_stride, random_offset=False,
                                   audio=audio_policy, **common)
    return train, validation


class BatchStream:
    """An endless stream of training batches, epoch after epoch, that can start at any micro-batch.

    Each epoch's order comes from `DistributedSampler` (shuffled with the seed and the epoch; each rank
    gets its shard), so micro-batch `n` of the run is the same whether the run was interrupted or not.
    """

    def __init__(self, dataset: Dataset, batch_size: int, group: TrainingGroup, seed: int,
                 num_workers: int) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.group = group
        self.seed = seed
        self.num_workers = num_workers

    def batches_in_epoch(self, epoch: int) -> int:
        return len(self._epoch_indices(epoch)) // self.batch_size or 1

    def iterate(self, start_batch: int = 0) -> Iterator[tuple[int, dict]]:
        """Yield (epoch, batch) from the `start_batch`-th micro-batch of the run onwards."""
        epoch, offset = 0, start_batch
        while offset >= self.batches_in_epoch(epoch):
            offset -= self.batches_in_epoch(epoch)
            epoch += 1
        while True:
            indices = self._epoch_indices(epoch)
            batches = [indices[start : start + self.batch_size]
                       for start in range(0, len(indices) - self.batch_size + 1, self.batch_size)] or [indices]
            loader = DataLoader(self.dataset, batch_sampler=batches[offset:], num_workers=self.num_workers,
                                worker_init_fn=worker_init_fn, pin_memory=self.group.device.type == "cuda",
                                generator=torch.Generator().manual_seed(self.seed * EPOCH_ORDER_FACTOR + epoch))
            for batch in one_line_errors(loader):
                yield epoch, batch
            epoch, offset = epoch + 1, 0

    def _epoch_indices(self, epoch: int) -> list[int]:
        set_epoch = getattr(self.dataset, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)
        sampler = DistributedSampler(self.dataset, num_replicas=self.group.place.world_size, rank=self.group.place.rank,
                                     shuffle=True, seed=self.seed, drop_last=False)
        sampler.set_epoch(epoch)
        return list(sampler)


def validation_batches(dataset: Dataset, batch_size: int, group: TrainingGroup, max_clips: int,
                       num_workers: int) -> Iterator[dict]:
    """This rank's share of at most `max_clips` validation clips spread evenly over the set, in a fixed order."""
    count = min(len(dataset), max_clips)
    chosen = sorted({round(position * (len(dataset) - 1) / max(count - 1, 1)) for position in range(count)})
    indices = chosen[group.place.rank :: group.place.world_size]
    batches = [indices[start : start + batch_size] for start in range(0, len(indices), batch_size)]
    yield from one_line_errors(DataLoader(dataset, batch_sampler=batches, num_workers=num_workers,
                                          worker_init_fn=worker_init_fn))


_EXCEPTION_PREFIX = re.compile(r"^[\w.]+: ")


def one_line_errors(batches: Iterable[dict]) -> Iterator[dict]:
    """Iterate `batches`; a diffsal error raised in a DataLoader worker comes out with its own message.

    PyTorch re-raises a worker's exception as the same type with the worker's whole traceback as its
    message; the user needs the last line of it (the file that is bad), not fifty.
    """
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except DiffSalError as error:
            text = str(error)
            if "Original Traceback" not in text:
                raise
            last_line = next(line for line in reversed(text.splitlines()) if line.strip())
            raise type(error)(_EXCEPTION_PREFIX.sub("", last_line.strip())) from None
        yield batch
