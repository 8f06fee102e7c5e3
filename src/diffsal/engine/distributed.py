"""DistributedDataParallel set-up from torchrun's environment (NCCL on GPUs, gloo on CPU).

Launch with ``torchrun --nproc_per_node=N -m diffsal train ...``; without torchrun the same code
runs as a single process. No process launching of our own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from diffsal.errors import InputError


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def mean(self, value: float | torch.Tensor) -> float:
        """Mean of a scalar over all ranks."""
        return self._reduce(value, dist.ReduceOp.SUM) / self.world_size

    def sum(self, value: float | torch.Tensor) -> float:
        return self._reduce(value, dist.ReduceOp.SUM)

    def max(self, value: float | torch.Tensor) -> float:
        return self._reduce(value, dist.ReduceOp.MAX)

    def min(self, value: float | torch.Tensor) -> float:
        return self._reduce(value, dist.ReduceOp.MIN)

    def _reduce(self, value: float | torch.Tensor, op) -> float:
        tensor = torch.as_tensor(value, dtype=torch.float64, device=self._reduce_device).detach().clone()
        if self.enabled:
            dist.all_reduce(tensor, op=op)
        return float(tensor)

    @property
    def _reduce_device(self) -> torch.device:
        # NCCL reduces CUDA tensors only; gloo takes CPU tensors.
        return self.device if self.device.type == "cuda" else torch.device("cpu")


def init_distributed(device: str = "auto") -> DistributedContext:
    """Join the process group torchrun describes (if any) and pick this process's device.

    Args:
        device: "auto" (CUDA if available, else CPU), "cpu" or "cuda".
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device not in ("auto", "cpu", "cuda"):
        raise InputError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("device cuda was asked for, but no CUDA device is visible")
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda:
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistributedContext(rank=rank, local_rank=local_rank, world_size=world_size, device=chosen)


def shutdown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
