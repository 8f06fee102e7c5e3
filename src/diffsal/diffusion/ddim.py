"""DDIM sampling (Song et al. 2021) for a network that predicts x0, with any number of steps and any eta."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

from diffsal.diffusion.gaussian import GaussianDiffusion, randn

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t, t (B,)) -> predicted x0


class DDIMSampler:
    """Deterministic (eta = 0) or stochastic DDIM over a subsequence of the process's steps.

    `spacing` picks the subsequence: "trailing" (evenly spaced, starting at T-1) or "leading" (the published
    DiffSal code's `range(0, T, T // steps)`, which starts at t = 0 for one step).
    """

    def __init__(self, diffusion: GaussianDiffusion, spacing: Literal["trailing", "leading"] = "trailing") -> None:
        if spacing not in ("trailing", "leading"):
            raise ValueError(f"spacing must be 'trailing' or 'leading', got {spacing!r}")
        self.diffusion = diffusion
        self.spacing = spacing

    def timesteps(self, steps: int) -> list[int]:
        """`steps` evaluation times, descending.

        T = 1000, trailing: 1 step -> [999]; 4 steps -> [999, 749, 499, 249].
        Leading: 1 step -> [0]; 4 steps -> [750, 500, 250, 0] (exactly `steps` times; the published code's
        range would add one more when `steps` does not divide T).
        """
        total = self.diffusion.num_timesteps
        if not 1 <= steps <= total:
            raise ValueError(f"steps must be in [1, {total}], got {steps}")
        if self.spacing == "leading":
            return [i * (total // steps) for i in reversed(range(steps))]
        return [round(total - i * total / steps) - 1 for i in range(steps)]

    def step(self, x_t: torch.Tensor, t: int, t_prev: int, predicted_x0: torch.Tensor, eta: float = 0.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """x_t -> x_{t_prev} given the network's x0; `t_prev = -1` means the end (returns x0)."""
        alphas = self.diffusion.alphas_cumprod
        alpha = float(alphas[t])
        alpha_prev = float(alphas[t_prev]) if t_prev >= 0 else 1.0
        noise_estimate = (x_t - alpha**0.5 * predicted_x0) / (1 - alpha) ** 0.5
        sigma = eta * ((1 - alpha_prev) / (1 - alpha) * (1 - alpha / alpha_prev)) ** 0.5
        direction = max(1 - alpha_prev - sigma**2, 0.0) ** 0.5
        x_prev = alpha_prev**0.5 * predicted_x0 + direction * noise_estimate
        if sigma > 0:
            x_prev = x_prev + sigma * randn(tuple(x_t.shape), generator=generator, device=x_t.device, dtype=x_t.dtype)
        return x_prev

    def sample(self, denoise: Denoiser, shape: tuple[int, ...], *, steps: int, eta: float = 0.0,
               generator: torch.Generator | None = None, device: torch.device | str = "cpu",
               dtype: torch.dtype = torch.float32, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Run the sampler from pure noise x_{T-1} ~ N(0, I); returns the final x0 `shape`.

        `noise` gives x_{T-1} explicitly (e.g. seeded per clip); `generator` then only drives the
        eta > 0 steps.
        """
        if eta < 0:
            raise ValueError(f"eta must be >= 0, got {eta}")
        if noise is not None and tuple(noise.shape) != tuple(shape):
            raise ValueError(f"noise must have shape {tuple(shape)}, got {tuple(noise.shape)}")
        x = noise.to(device, dtype) if noise is not None else randn(shape, generator=generator, device=device, dtype=dtype)
        times = self.timesteps(steps)
        for t, t_prev in zip(times, times[1:] + [-1]):
            batch_t = torch.full((shape[0],), t, device=device, dtype=torch.long)
            x = self.step(x, t, t_prev, denoise(x, batch_t), eta, generator)
        return x


def mean_and_std(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-element mean and standard deviation (N-1) over the first axis of `(n, ...)`; std is None for n = 1."""
    mean = samples.mean(dim=0)
    std = samples.std(dim=0, correction=1) if samples.shape[0] > 1 else None
    return mean, std
