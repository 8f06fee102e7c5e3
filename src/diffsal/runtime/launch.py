"""Where this process runs: the device it computes on and its place in a torchrun launch.

One vocabulary for every command (`train`, `predict`, `info --time`, ...):

* device: ``auto`` (CUDA if a device is visible, else the CPU), ``cpu``, ``cuda`` (under torchrun the
  rank-local GPU ``cuda:LOCAL_RANK``) or ``cuda:N`` (that GPU, on every rank). A bad spelling or a CUDA
  device that is not there is an `InputError` with one message (`resolve_device`).
* torchrun: ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (default: RANK) are read and checked once
  (`TorchrunEnv.from_env`); without torchrun the process is rank 0 of 1.

The process groups built on top of this live with their users: `diffsal.training.distributed` (training,
NCCL or gloo) and `diffsal.inference.sharding` (sharded prediction, gloo).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from diffsal.errors import InputError

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
DEVICE_HELP = ("auto (default: CUDA if visible, else CPU), cpu, cuda (under torchrun: the rank's GPU "
               "cuda:LOCAL_RANK) or cuda:N")


@dataclass(frozen=True)
class TorchrunEnv:
    """This process's place in a torchrun launch (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TorchrunEnv:
        """RANK, WORLD_SIZE and LOCAL_RANK (default RANK) from `environ` (default: os.environ), checked.

        Raises:
            InputError: a value that is not an integer, WORLD_SIZE < 1, RANK outside 0..WORLD_SIZE-1, LOCAL_RANK < 0.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for name, default in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", None)):
            text = environ.get(name, default if default is not None else values.get("RANK", "0"))
            try:
                values[name] = int(str(text).strip())
            except ValueError:
                raise InputError(f"torchrun environment: {name} must be an integer, got {text!r}") from None
        rank, world_size, local_rank = values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"]
        if world_size < 1:
            raise InputError(f"torchrun environment: WORLD_SIZE must be >= 1, got {world_size}")
        if not 0 <= rank < world_size:
            raise InputError(f"torchrun environment: RANK={rank} is not in 0..WORLD_SIZE-1 (WORLD_SIZE={world_size})")
        if local_rank < 0:
            raise InputError(f"torchrun environment: LOCAL_RANK must be >= 0, got {local_rank}")
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

    def prefix(self) -> str:
        """``[rank r/N] `` for messages of a multi-process run, "" otherwise."""
        return f"[rank {self.rank}/{self.world_size}] " if self.distributed else ""

    def device(self, requested: str | torch.device = "auto") -> torch.device:
        """The device of this process for `requested` (see `resolve_device`)."""
        return resolve_device(requested, self)


def check_device_spec(text: str) -> str:
    """`text` if it spells a device (auto, cpu, cuda, cuda:N), else InputError; availability is not checked."""
    spec = str(text).strip().lower()
    if spec in ("auto", "cpu", "cuda"):
        return spec
    kind, separator, index = spec.partition(":")
    if kind == "cuda" and separator and index.isdigit():
        return f"cuda:{int(index)}"
    raise InputError(f"device must be {DEVICE_CHOICES}, got {text!r}")


def resolve_device(device: str | torch.device = "auto", env: TorchrunEnv | None = None) -> torch.device:
    """The torch device for `device` ("auto", "cpu", "cuda", "cuda:N" or a torch.device).

    ``auto`` and ``cuda`` take the GPU of this rank, ``cuda:LOCAL_RANK`` (modulo the visible GPUs;
    ``cuda:0`` without torchrun); ``cuda:N`` takes GPU N whatever the rank.

    Raises:
        InputError: a bad spelling, or CUDA asked for (cuda, cuda:N) but no such device is visible.
    """
    import torch  # here, so that parsing a command line does not import torch

    env = TorchrunEnv() if env is None else env
    if isinstance(device, torch.device):
        spec = str(device) if device.type != "cuda" or device.index is not None else "cuda"
        if device.type not in ("cpu", "cuda"):
            return device  # an explicit torch.device of another kind (meta, mps) is the caller's choice
    else:
        spec = check_device_spec(device)
    if spec == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if spec == "auto":
        if not available:
            return torch.device("cpu")
        spec = "cuda"
    if not available:
        raise InputError(f"device {spec} was asked for, but no CUDA device is visible (use --device auto or cpu)")
    count = torch.cuda.device_count()
    if spec == "cuda":
        return torch.device("cuda", env.local_rank % count)
    index = int(spec.partition(":")[2])
    if index >= count:
        raise InputError(f"device {spec} was asked for, but only {count} CUDA device(s) are visible "
                         f"(cuda:0..cuda:{count - 1})")
    return torch.device("cuda", index)


def describe_devices() -> str:
    """One line for reports: the CUDA devices visible, or that there are none."""
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.device_count()}x {torch.cuda.get_device_name(0)})"
    return "cpu (no CUDA device visible)"
