"""The Gaussian forward process and the x0-prediction training loss. Knows nothing of the data's meaning."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from diffsal.diffusion.noise_schedule import cosine_alphas_cumprod


def randn(shape: tuple[int, ...], *, generator: torch.Generator | None = None, device: torch.device | str = "cpu",
          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normal noise drawn on the generator's device (so a seed gives the same noise on CPU and CUDA)."""
    source = generator.device if generator is not None else torch.device(device)
    return torch.randn(shape, generator=generator, device=source, dtype=dtype).to(device)


def _broadcast(values: torch.Tensor, timesteps: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Gather per-sample schedule values for `timesteps` `(B,)`, shaped to broadcast against `like` `(B, ...)`."""
    gathered = values.to(timesteps.device)[timesteps].to(like.dtype)
    return gathered.view(-1, *([1] * (like.dim() - 1)))


class GaussianDiffusion:
    """q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) for t = 0 .. T-1."""

    def __init__(self, alphas_cumprod: torch.Tensor) -> None:
        if alphas_cumprod.dim() != 1 or len(alphas_cumprod) < 2:
            raise ValueError("alphas_cumprod must be a 1-D tensor of length >= 2")
        self.alphas_cumprod = alphas_cumprod.double()

    @classmethod
    def cosine(cls, num_timesteps: int = 1000, offset: float = 0.008) -> GaussianDiffusion:
        return cls(cosine_alphas_cumprod(num_timesteps, offset))

    @property
    def num_timesteps(self) -> int:
        return len(self.alphas_cumprod)

    def sample_timesteps(self, batch_size: int, *, device: torch.device | str = "cpu",
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """Uniform t in [0, T) for each of `batch_size` samples."""
        source = generator.device if generator is not None else torch.device(device)
        return torch.randint(0, self.num_timesteps, (batch_size,), generator=generator, device=source).to(device)

    def q_sample(self, x0: torch.Tensor, timesteps: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Noisy x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise."""
        signal = _broadcast(self.alphas_cumprod.sqrt(), timesteps, x0)
        sigma = _broadcast((1 - self.alphas_cumprod).sqrt(), timesteps, x0)
        return signal * x0 + sigma * noise

    def noise_from_x0(self, x_t: torch.Tensor, timesteps: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """The noise that, with `x0`, gives `x_t` at `timesteps` (inverse of `q_sample` in `noise`)."""
        signal = _broadcast(self.alphas_cumprod.sqrt(), timesteps, x_t)
        sigma = _broadcast((1 - self.alphas_cumprod).sqrt(), timesteps, x_t)
        return (x_t - signal * x0) / sigma

    @staticmethod
    def x0_loss(predicted_x0: torch.Tensor, x0: torch.Tensor,
                reduction: Literal["mean", "sum", "none"] = "mean") -> torch.Tensor:
        """MSE between the predicted and the true clean sample (the network predicts x0, not the noise)."""
        return F.mse_loss(predicted_x0.float(), x0.float(), reduction=reduction)
