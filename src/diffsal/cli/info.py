"""`diffsal info`: versions, device and threads — what a bug report needs; with `--model`, the model's size and cost."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from diffsal.cli._arguments import add_batch_size, add_device, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="show versions of diffsal, torch, torchvision, PyAV/FFmpeg and the device; "
                                                "with --model, parameters and FLOPs of a model")
    parser.add_argument("--model", metavar="PRESET|DIR",
                        help="a model preset (paper, tiny) or a saved model folder: print parameters per component "
                             "and FLOPs per clip and per extra denoising step")
    parser.add_argument("--time", action="store_true",
                        help="with --model: also time inference and one training step (random inputs and weights)")
    parser.add_argument("--frames-out", type=positive_int, metavar="K",
                        help="with a preset: maps per clip (default: the preset's, 1); FLOPs per frame fall ~K-fold")
    add_batch_size(parser, 1, "clips per step of --time")
    add_device(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def environment_report() -> dict[str, str]:
    import av
    import numpy
    import torch
    import torchvision

    from diffsal import __version__
    from diffsal.runtime import describe_devices

    return {
        "diffsal": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "PyAV": av.__version__,
        "FFmpeg": str(getattr(av, "ffmpeg_version_info", "unknown")),
        "numpy": numpy.__version__,
        "device": describe_devices(),
        "torch threads": str(torch.get_num_threads()),
        "CPU cores": str(os.cpu_count()),
    }


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
    import dataclasses

    import torch

    from diffsal.errors import InputError
    from diffsal.models import DiffSal, DiffSalConfig
    from diffsal.models.config import PRESETS
    from diffsal.models.loading import load_model
    from diffsal.models.cost import model_flops

    if frames_out is not None and spec not in PRESETS:
        raise InputError("--frames-out applies to a preset; a saved model has its own")
    if spec in PRESETS:
        config = DiffSalConfig.preset(spec)
        if frames_out is not None:
            config = dataclasses.replace(config, frames_out=frames_out)
        with torch.device("meta"):
            model = DiffSal(config)
        source = f"preset {spec}"
    elif Path(spec).is_dir():
        model = load_model(spec, map_location="cpu")
        config = model.config
        source = f"{spec} ({getattr(config, 'architecture', 'diffsal')})"
    else:
        raise InputError(f"--model {spec!r} is neither a preset ({', '.join(PRESETS)}) nor a model folder")

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
    import dataclasses
    import statistics
    import time

    import torch

    from diffsal.errors import InputError
    from diffsal.models import DiffSal, DiffSalConfig
    from diffsal.models.config import PRESETS
    from diffsal.models.loading import load_model

    from diffsal.runtime import resolve_device

    if batch < 1:
        raise InputError(f"--batch-size must be >= 1, got {batch}")
    target_device = resolve_device(device)
    if spec in PRESETS:
        config = DiffSalConfig.preset(spec)
        model = DiffSal(config if frames_out is None else dataclasses.replace(config, frames_out=frames_out))
    else:
        model = load_model(spec)
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


def run(args: argparse.Namespace) -> int:
    report: dict[str, Any] = {"environment": environment_report()}
    if args.model:
        report["model"] = model_report(args.model, args.frames_out)
        if args.time:
            report["timing"] = timing_report(args.model, args.batch_size, args.device, frames_out=args.frames_out)
    elif args.time:
        from diffsal.errors import InputError

        raise InputError("--time needs --model")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    console = Console()
    table = Table(title="diffsal environment", show_header=False)
    for key, value in report["environment"].items():
        table.add_row(key, value)
    console.print(table)
    if args.model:
        model = report["model"]
        params = Table(title=f"{model['model']}: {model['input']}, {model['maps per clip']} map(s) per clip")
        params.add_column("component")
        params.add_column("parameters", justify="right")
        params.add_column("trainable", justify="right")
        for name, counts in model["parameters"].items():
            params.add_row(name, f"{counts['registered'] / 1e6:.3f} M", f"{counts['trainable'] / 1e6:.3f} M")
        console.print(params)
        flops = Table(title="FLOPs (batch 1; multiply and add counted separately)")
        flops.add_column("part")
        flops.add_column("GFLOPs", justify="right")
        for name, value in model["flops"].items():
            flops.add_row(name, f"{value / 1e9:.2f}")
        console.print(flops)
    if "timing" in report:
        timing = Table(title="time (random weights and inputs; median of 3 after a warm-up)", show_header=False)
        for key, value in report["timing"].items():
            timing.add_row(key, str(value))
        console.print(timing)
    return 0
