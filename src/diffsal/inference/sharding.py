"""Splitting the videos of a run over torchrun ranks, and meeting again at the end.

``torchrun --nproc_per_node=N -m diffsal predict ...`` starts N processes with RANK, WORLD_SIZE and
LOCAL_RANK set. Rank r takes videos r, r+N, r+2N, ... of the list (every rank resolves INPUT the
same way), writes them into the shared output tree, then all ranks meet at a barrier so that
rank 0 can check that every video of the run is complete. The process group (gloo, also next to
CUDA: it carries only the barrier and a few small objects) exists only with WORLD_SIZE > 1.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import torch.distributed as dist

from diffsal.runtime import TorchrunEnv

# Ranks wait at the final barrier for the slowest shard; a whole benchmark can take many hours.
BARRIER_TIMEOUT = timedelta(hours=72)


class ShardGroup:
    """The process group of a sharded run (a no-op for one process): barrier and gather of small objects."""

    def __init__(self, place: TorchrunEnv) -> None:
        self.place = place
        self._owned = False
        if place.distributed and not dist.is_initialized():
            dist.init_process_group(backend="gloo", timeout=BARRIER_TIMEOUT)
            self._owned = True

    def gather(self, value: Any) -> list[Any]:
        """Every rank's `value`, in rank order (waits for all ranks)."""
        if not self.place.distributed:
            return [value]
        gathered: list[Any] = [None] * self.place.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def broadcast(self, value: Any) -> Any:
        """Rank 0's `value` on every rank."""
        if not self.place.distributed:
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
