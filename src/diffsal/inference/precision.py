"""Numeric precision of inference: fp32, or bf16 autocast (matrix products and convolutions in bfloat16).

bf16 halves the memory traffic and runs on the bf16 units of GPUs (and of CPUs that have them: AVX-512
BF16, AMX). On a CPU without them the bf16 kernels are emulated and far slower than fp32;
`benchmarks/speed.py` measures both on the machine at hand (docs/performance.md).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch

from diffsal.errors import InputError

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def autocast(device: torch.device, precision: str) -> AbstractContextManager:
    """The autocast region of `precision` on `device` (CPU or CUDA); fp32 disables autocast."""
    check_precision(precision)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
