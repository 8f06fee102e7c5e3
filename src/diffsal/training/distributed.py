"""DistributedDataParallel set-up from torchrun's environment (NCCL on GPUs, gloo on CPU).

Launch with ``torchrun --nproc_per_node=N -m diffsal train ...``; without torchrun the same code
runs as a single process. No process launching of our own. The environment and the device are read
by `diffsal.runtime`, as for sharded prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist

from diffsal.runtime import TorchrunEnv, resolve_device


@dataclass(frozen=True)
class TrainingGroup:
    """The processes of a training run: this one's `place` in the torchrun launch, its `device`, and the
    reductions over all of them (each a no-op for one process)."""

    place: TorchrunEnv = TorchrunEnv()
    device: torch.device = torch.device("cpu")

    def barrier(self) -> None:
        if self.place.distributed:
            dist.barrier()

    def mean(self, value: float | torch.Tensor) -> float:
        """Mean of a scalar over all ranks."""
        return self._reduce(value, dist.ReduceOp.SUM) / self.place.world_size

    def sum(self, value: float | torch.Tensor) -> float:
        return self._reduce(value, dist.ReduceOp.SUM)

    def max(self, value: float | torch.Tensor) -> float:
        return self._reduce(value, dist.ReduceOp.MAX)

    def min(self, value: float | torch.Tensor) -> float:
        return self._reduce(value, dist.ReduceOp.MIN)

    def _reduce(self, value: float | torch.Tensor, op) -> float:
        tensor = torch.as_tensor(value, dtype=torch.float64, device=self._reduce_device).detach().clone()
        if self.place.distributed:
            dist.all_reduce(tensor, op=op)
        return float(tensor)

    @property
    def _reduce_device(self) -> torch.device:
        # NCCL reduces CUDA tensors only; gloo takes CPU tensors.
        return self.device if self.device.type == "cuda" else torch.device("cpu")


def init_distributed(device: str | torch.device = "auto", env: TorchrunEnv | None = None) -> TrainingGroup:
    """Join the process group torchrun describes (if any) and pick this process's device.

    Args:
        device: "auto", "cpu", "cuda" (this rank's GPU) or "cuda:N" (`diffsal.runtime.resolve_device`).
        env: the torchrun environment (default: read from os.environ and checked).
    """
    env = TorchrunEnv.from_env() if env is None else env
    chosen = resolve_device(device, env)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if env.distributed and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    return TrainingGroup(env, chosen)


def shutdown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
