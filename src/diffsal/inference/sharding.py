"""Splitting the videos of a run over torchrun ranks, and meeting again at the end.

``torchrun --nproc_per_node=N -m diffsal predict ...`` starts N processes with RANK, WORLD_SIZE and
LOCAL_RANK set. Rank r takes videos r, r+N, r+2N, ... of the list (every rank resolves INPUT the
same way), writes them into the shared output tree, then all ranks meet at a barrier so that
rank 0 can check that every video of the run is complete. The process group (gloo, also next to
CUDA: it carries only the barrier and a few small objects) exists only with WORLD_SIZE > 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from diffsal.errors import InputError

T = TypeVar("T")

# Ranks wait at the final barrier for the slowest shard; a whole benchmark can take many hours.
BARRIER_TIMEOUT = timedelta(hours=72)


@dataclass(frozen=True)
class Shard:
    """This process's place in the run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> Shard:
        try:
            rank = int(os.environ.get("RANK", "0"))
            world_size = int(os.environ.get("WORLD_SIZE", "1"))
            local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError as error:
            raise InputError(f"RANK/WORLD_SIZE/LOCAL_RANK must be integers ({error})") from None
        if world_size < 1 or not 0 <= rank < world_size:
            raise InputError(f"RANK={rank} is not in 0..WORLD_SIZE-1 (WORLD_SIZE={world_size})")
        return cls(rank, world_size, local_rank)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def take(self, items: list[T]) -> list[T]:
        """This rank's items: every world_size-th, starting at its rank."""
        return items[self.rank :: self.world_size]

    def device(self, requested: str) -> str:
        """The device of this rank: with several ranks on CUDA, rank-local GPU ``cuda:LOCAL_RANK``."""
        wants_cuda = requested == "cuda" or (requested == "auto" and torch.cuda.is_available())
        if self.distributed and wants_cuda:
            if not torch.cuda.is_available():
                raise InputError("device cuda was asked for, but no CUDA device is visible")
            return f"cuda:{self.local_rank % torch.cuda.device_count()}"
        return requested

    def prefix(self) -> str:
        return f"[rank {self.rank}/{self.world_size}] " if self.distributed else ""


class ShardGroup:
    """The process group of a sharded run (a no-op for one process): barrier and gather of small objects."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self._owned = False
        if shard.distributed and not dist.is_initialized():
            dist.init_process_group(backend="gloo", timeout=BARRIER_TIMEOUT)
            self._owned = True

    def gather(self, value: Any) -> list[Any]:
        """Every rank's `value`, in rank order (waits for all ranks)."""
        if not self.shard.distributed:
            return [value]
        gathered: list[Any] = [None] * self.shard.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def broadcast(self, value: Any) -> Any:
        """Rank 0's `value` on every rank."""
        if not self.shard.distributed:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def close(self) -> None:
        if self._owned and dist.is_initialized():
            dist.destroy_process_group()
            self._owned = False

    def __enter__(self) -> ShardGroup:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
