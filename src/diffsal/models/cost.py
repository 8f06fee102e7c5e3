"""FLOPs of a model configuration: encoders once per clip, the Saliency-UNet once per denoising step.

Counted with `torch.utils.flop_counter` on the meta device (shapes only, no computation, so the paper
preset costs no more to count than the tiny one); multiply and add are counted separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode



@dataclass(frozen=True)
class ModelFlops:
    """FLOPs of one clip (batch 1)."""

    video_encoder: int
    audio_encoder: int
    step: int  # one Saliency-UNet evaluation (one DDIM step), all K maps
    frames_out: int  # K, maps per clip

    @property
    def encoders(self) -> int:
        return self.video_encoder + self.audio_encoder

    def per_clip(self, steps: int = 1) -> int:
        return self.encoders + steps * self.step

    def per_frame(self, steps: int = 1) -> float:
        """Per predicted frame: a clip gives K of them."""
        return self.per_clip(steps) / self.frames_out


def model_flops(config: Any) -> ModelFlops:
    """FLOPs of a model config of any architecture (`DiffSalConfig`, `PublishedConfig`)."""
    from diffsal.models.loading import build_model

    with torch.device("meta"):
        model = build_model(config)
        frames = torch.zeros(1, 3, config.num_frames, config.height, config.width)
        audio_transform = config.preprocessing().audio
        audio = torch.zeros(1, *audio_transform.shape) if audio_transform is not None else None
        noisy = torch.zeros(1, config.frames_out, config.height, config.width)
        timesteps = torch.zeros(1, dtype=torch.long)
        with FlopCounterMode(display=False) as encoders:
            conditioning = model.encode(frames, audio)
        with FlopCounterMode(display=False) as step:
            model.denoise(noisy, timesteps, conditioning)
    audio_flops = _module_flops(encoders, type(model.audio_encoder).__name__) if model.audio_encoder else 0
    return ModelFlops(_module_flops(encoders, "VideoEncoder"), audio_flops, int(step.get_total_flops()),
                      config.frames_out)


def _module_flops(counter: Any, name: str) -> int:
    return int(sum(counter.get_flop_counts().get(name, {}).values()))
