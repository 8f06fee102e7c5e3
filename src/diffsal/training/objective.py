"""What a training step minimises: the diffusion x0 loss, or the saliency distillation loss of a one-step student.

- "diffusion": `SaliencyDiffusion.training_loss`, the x0-prediction MSE at a random timestep (DiffSal's own
  objective; the targets may be ground truth or a teacher's maps).
- "kl_cc": the model as a direct regressor (`one_step_maps`, what one DDIM step returns) compared with the
  target maps by the loss saliency students are trained with: KL divergence of the maps as distributions plus
  one minus their correlation coefficient, per map, averaged.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Objective = Literal["diffusion", "kl_cc"]
OBJECTIVES: tuple[str, ...] = ("diffusion", "kl_cc")
_EPS = 1e-7  # keeps empty maps finite (an all-zero teacher map gives a uniform distribution)


def kl_cc_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL(target || predicted) + (1 - CC(predicted, target)) per (H, W) map of `(B, K, H, W)`, averaged."""
    predicted = predicted.float().flatten(2)
    target = target.float().flatten(2)
    p = (target + _EPS) / (target + _EPS).sum(-1, keepdim=True)
    q = (predicted + _EPS) / (predicted + _EPS).sum(-1, keepdim=True)
    kl = (p * (torch.log(p) - torch.log(q))).sum(-1)
    centred_p = predicted - predicted.mean(-1, keepdim=True)
    centred_t = target - target.mean(-1, keepdim=True)
    cc = (centred_p * centred_t).sum(-1) / (centred_p.norm(dim=-1) * centred_t.norm(dim=-1) + _EPS)
    return (kl + 1 - cc).mean()


class LossModule(nn.Module):
    """The model and its objective in one `forward` (DDP synchronises the gradients of what runs there)."""

    def __init__(self, model: nn.Module, objective: Objective = "diffusion") -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        self.model = model
        self.objective = objective

    def forward(self, frames: torch.Tensor, audio: torch.Tensor | None, target: torch.Tensor,
                timesteps: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if self.objective == "kl_cc":
            return kl_cc_loss(self.model.one_step_maps(frames, audio, noise), target)
        return self.model.training_loss(frames, audio, target, timesteps=timesteps, noise=noise)
