"""What every saliency model here shares: the Gaussian process over its maps, the x0 loss and DDIM sampling.

A model (`DiffSal`, `PublishedDiffSal`) subclasses `SaliencyDiffusion`, calls `init_diffusion` and provides
`config` (with `frames_out`, `height`, `width`, `diffusion`), `encode(frames, audio) -> Conditioning` and
`denoise(noisy, timesteps, conditioning) -> predicted x0`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from diffsal.diffusion import (
    DataScaling,
    DDIMSampler,
    GaussianDiffusion,
    mean_and_std,
    randn,
)
from diffsal.errors import InputError


class Conditioning(NamedTuple):
    """Encoder outputs for a batch of clips: computed once, reused by every denoising step."""

    video_maps: list[torch.Tensor]  # four channels-last (B, T', H_s, W_s, C_s)
    audio: torch.Tensor | None  # (B, C_a, E, h, w)

    def repeat(self, times: int) -> Conditioning:
        """Tile along the batch (sample-major: index s * B + b) for several samples per input (one copy per
        `sample` call, not per step)."""
        if times == 1:
            return self
        tile = lambda x: x.repeat(times, *([1] * (x.dim() - 1)))
        return Conditioning([tile(v) for v in self.video_maps], tile(self.audio) if self.audio is not None else None)


class SaliencySample(NamedTuple):
    """`mean` (B, K, H, W) in [0, 1]; `std` (B, K, H, W), the spread over samples, or None for one sample.

    K = `config.frames_out`: channel k is the map of clip slot `config.target_slots[k]`.
    """

    mean: torch.Tensor
    std: torch.Tensor | None


class SaliencyDiffusion(nn.Module):
    """The diffusion half of a saliency model; see the module docstring (subclasses define `encode` and
    `denoise`, which `training_loss` and `sample` call)."""

    config: Any

    def init_diffusion(self, diffusion: Any) -> None:
        """The process, sampler and data scaling of a `DiffusionConfig`."""
        self.diffusion = GaussianDiffusion.cosine(diffusion.num_timesteps, diffusion.cosine_offset)
        self.sampler = DDIMSampler(self.diffusion, diffusion.timestep_spacing)
        self.scaling = DataScaling(diffusion.map_range, diffusion.signal_scale)

    @property
    def preprocessing(self) -> Any:
        """How this model's inputs are made (frame transform, audio transform): ``config.preprocessing()``."""
        return self.config.preprocessing()

    def check_frames(self, frames: torch.Tensor) -> None:
        """InputError unless `frames` is a batch of clips `(B, 3, T, H, W)` of the model's size."""
        config = self.config
        expected = (3, config.num_frames, config.height, config.width)
        if frames.dim() != 5 or tuple(frames.shape[1:]) != expected:
            raise InputError(f"frames must be (B, {', '.join(map(str, expected))}), got {tuple(frames.shape)}")

    # ------------------------------------------------------------------ training
    def training_loss(self, frames: torch.Tensor, audio: torch.Tensor | None, target: torch.Tensor,
                      generator: torch.Generator | None = None, timesteps: torch.Tensor | None = None,
                      noise: torch.Tensor | None = None) -> torch.Tensor:
        """x0-prediction MSE over the K maps at a uniformly drawn t per sample; `target` (B, K, H, W) in [0, 1].

        `timesteps` (B,) and `noise` (B, K, H, W) may be given instead of drawn from `generator` (the
        trainer draws them for the global batch so that N processes match one process exactly).
        """
        batch = frames.shape[0]
        expected = (batch, self.config.frames_out, self.config.height, self.config.width)
        if tuple(target.shape) != expected:
            raise InputError(f"target must be {expected}, got {tuple(target.shape)}")
        conditioning = self.encode(frames, audio)
        x0 = self.scaling.encode(target.float())
        if timesteps is None:
            timesteps = self.diffusion.sample_timesteps(batch, device=frames.device, generator=generator)
        if noise is None:
            noise = randn(tuple(x0.shape), generator=generator, device=x0.device)
        noisy = self.diffusion.q_sample(x0, timesteps, noise)
        predicted = self.denoise(noisy, timesteps, conditioning)
        return self.diffusion.x0_loss(predicted, x0, reduction=self.config.diffusion.loss_reduction)

    def one_step_maps(self, frames: torch.Tensor, audio: torch.Tensor | None, noise: torch.Tensor) -> torch.Tensor:
        """The maps (B, K, H, W) in [0, 1] that one DDIM step from `noise` gives (what `sample(steps=1, noise=noise)`
        returns), with gradients: the model used as a direct regressor, as a distilled student is trained."""
        first = self.sampler.timesteps(1)[0]
        timesteps = torch.full((frames.shape[0],), first, device=frames.device, dtype=torch.long)
        predicted = self.denoise(noise.to(frames.device), timesteps, self.encode(frames, audio))
        return self.scaling.decode(predicted.float())

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def sample(self, frames: torch.Tensor, audio: torch.Tensor | None = None, *, steps: int | None = None,
               n_samples: int = 1, eta: float | None = None, generator: torch.Generator | None = None,
               noise: torch.Tensor | None = None) -> SaliencySample:
        """DDIM from pure noise over the config's timesteps (trailing: from t = T-1; leading: the published [0] for one
        step). Encoders run once; only the Saliency-UNet runs per step.

        With `n_samples` > 1 the samples are drawn in one batch; the result is their mean and per-pixel std.
        `noise` (n_samples * B, K, H, W), sample-major (row s * B + b), fixes the starting noise.
        """
        config = self.config.diffusion
        steps = config.sampling_steps if steps is None else steps
        eta = config.eta if eta is None else eta
        if n_samples < 1:
            raise InputError(f"n_samples must be >= 1, got {n_samples}")
        batch = frames.shape[0]
        conditioning = self.encode(frames, audio).repeat(n_samples)

        def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.denoise(x, t, conditioning).float()

        shape = (n_samples * batch, self.config.frames_out, self.config.height, self.config.width)
        x0 = self.sampler.sample(denoise, shape, steps=steps, eta=eta, generator=generator, device=frames.device,
                                 noise=noise)
        maps = self.scaling.decode(x0).view(n_samples, batch, *shape[1:])
        mean, std = mean_and_std(maps)
        return SaliencySample(mean, std)
