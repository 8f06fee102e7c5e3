"""Learning-rate schedules as multipliers of the base rate, for `torch.optim.lr_scheduler.LambdaLR`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

ScheduleName = Literal["constant", "step", "cosine"]


def lr_multiplier(
    schedule: ScheduleName,
    total_steps: int,
    warmup_steps: int = 0,
    milestones: Sequence[float] = (0.5, 0.75),
    gamma: float = 0.1,
    min_ratio: float = 0.0,
) -> Callable[[int], float]:
    """Multiplier of the base LR at optimizer step `step` (0-based).

    Warm-up rises linearly from 1/(warmup+1) to 1 over `warmup_steps`. Then:
    "constant"; "step" multiplies by `gamma` at each milestone (fractions of `total_steps`, as the
    paper's x0.1 at 50 % and 75 %); "cosine" decays from 1 to `min_ratio` at `total_steps`.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    milestone_steps = sorted(int(round(fraction * total_steps)) for fraction in milestones)

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        if schedule == "constant":
            return 1.0
        if schedule == "step":
            return gamma ** sum(1 for milestone in milestone_steps if step >= milestone)
        if schedule == "cosine":
            span = max(total_steps - warmup_steps, 1)
            progress = min((step - warmup_steps) / span, 1.0)
            return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        raise ValueError(f"unknown schedule {schedule!r}")

    return multiplier
