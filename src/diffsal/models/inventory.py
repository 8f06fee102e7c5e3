"""What a model is made of and costs: parameters per component, FLOPs per clip and per frame, and the wall time
of a prediction and of a training step (`diffsal info --model`)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from diffsal.errors import InputError
from diffsal.models.config import PRESETS
from diffsal.models.cost import model_flops
from diffsal.models.loading import preset_or_saved_model
from diffsal.runtime import resolve_device


def _parameter_counts(module: Any) -> dict[str, int]:
    parameters = list(module.parameters()) if module is not None else []
    return {
        "registered": sum(p.numel() for p in parameters),
        "trainable": sum(p.numel() for p in parameters if p.requires_grad),
    }


def model_report(spec: str, frames_out: int | None = None) -> dict[str, Any]:
    """Parameters per component and FLOPs of the preset or saved model `spec` (`frames_out` sets K of a preset).

    FLOPs (multiply and add counted separately, as `torch.utils.flop_counter` does) are measured on the
    meta device: shapes only, no computation, so the paper preset costs no more than the tiny one.
    """
    model = preset_or_saved_model(spec, frames_out, on_meta_device=True)
    config = model.config
    source = f"preset {spec}" if spec in PRESETS else f"{spec} ({config.architecture})"

    components = {"video encoder (MViTv2)": model.video_encoder}
    if model.audio_encoder is not None:
        components["audio encoder (VGGish trunk)"] = model.audio_encoder.trunk
    parameters = {name: _parameter_counts(module) for name, module in components.items()}
    if model.audio_encoder is not None:
        whole, trunk = _parameter_counts(model.audio_encoder), parameters["audio encoder (VGGish trunk)"]
        parameters["audio encoder (temporal transformer)"] = {key: whole[key] - trunk[key] for key in whole}
    parameters["Saliency-UNet"] = _parameter_counts(model.saliency_unet)
    parameters["total"] = _parameter_counts(model)

    counted = model_flops(config)
    audio = config.preprocessing().audio
    flops = {
        "video encoder": counted.video_encoder,
        "audio encoder": counted.audio_encoder,
        "Saliency-UNet step": counted.step,
        "per clip (1 step)": counted.per_clip(1),
        "per extra step": counted.step,
        "per predicted frame (1 step)": round(counted.per_frame(1)),
    }
    return {
        "model": source,
        "input": f"{config.num_frames}x{config.height}x{config.width} frames"
                 + (f" + {audio.description}" if audio is not None else " (video only)"),
        "maps per clip": config.frames_out,
        "parameters": parameters,
        "flops": flops,
    }


def timing_report(spec: str, batch: int, device: str = "auto", repeats: int = 3, frames_out: int | None = None) -> dict[str, Any]:
    """Median wall time of a one-step prediction, of one extra denoising step and of one training step.

    Random weights and inputs (speed does not depend on them); the Adam update is included in the
    training step. On CUDA the peak memory of the training step is reported too.
    """
    if batch < 1:
        raise InputError(f"--batch-size must be >= 1, got {batch}")
    target_device = resolve_device(device)
    model = preset_or_saved_model(spec, frames_out)
    model.to(target_device)
    config = model.config
    frames = torch.randn(batch, 3, config.num_frames, config.height, config.width, device=target_device)
    audio_transform = config.preprocessing().audio
    audio = torch.randn(batch, *audio_transform.shape, device=target_device) if audio_transform is not None else None
    target = torch.rand(batch, config.frames_out, config.height, config.width, device=target_device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def timed(action) -> float:
        times = []
        for _ in range(repeats + 1):  # the first run warms up
            if target_device.type == "cuda":
                torch.cuda.synchronize(target_device)
            start = time.perf_counter()
            action()
            if target_device.type == "cuda":
                torch.cuda.synchronize(target_device)
            times.append(time.perf_counter() - start)
        return statistics.median(times[1:])

    def train_step() -> None:
        loss = model.training_loss(frames, audio, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.eval()
    one_step = timed(lambda: model.sample(frames, audio, steps=1))
    two_steps = timed(lambda: model.sample(frames, audio, steps=2))
    model.train()
    if target_device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(target_device)
    train_s = timed(train_step)
    report = {
        "device": str(target_device),
        "batch": batch,
        "torch threads": torch.get_num_threads(),
        "predict, 1 step (s)": round(one_step, 4),
        "extra step (s)": round(max(two_steps - one_step, 0.0), 4),
        "training step (s)": round(train_s, 4),
    }
    if target_device.type == "cuda":
        report["training peak memory (GiB)"] = round(torch.cuda.max_memory_allocated(target_device) / 2**30, 2)
    return report
