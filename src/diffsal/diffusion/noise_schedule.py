"""Noise schedules: the cumulative signal fraction alpha_bar_t for t = 0 .. T-1."""

from __future__ import annotations

import math

import torch


def cosine_alphas_cumprod(num_timesteps: int, offset: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Cosine schedule (Nichol & Dhariwal 2021): alpha_bar(s) = cos^2(pi/2 (s + offset) / (1 + offset)).

    Returns float64 `(num_timesteps,)`, decreasing from ~1 at t = 0 to ~0 at t = T-1; each step's beta is
    capped at `max_beta` to avoid the singularity at the end.
    """
    def alpha_bar(fraction: float) -> float:
        return math.cos((fraction + offset) / (1 + offset) * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / num_timesteps) / alpha_bar(i / num_timesteps), max_beta)
             for i in range(num_timesteps)]
    return torch.cumprod(1 - torch.tensor(betas, dtype=torch.float64), dim=0)
