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


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="show versions of diffsal, torch, torchvision, PyAV/FFmpeg and the device; "
                                                "with --model, parameters and FLOPs of a model")
    parser.add_argument("--model", metavar="PRESET|DIR",
                        help="a model preset (paper, tiny) or a saved model folder: print parameters per component "
                             "and FLOPs per clip and per extra denoising step")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def environment_report() -> dict[str, str]:
    import av
    import numpy
    import torch
    import torchvision

    from diffsal import __version__

    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.device_count()}x {torch.cuda.get_device_name(0)})"
    else:
        device = "cpu (no CUDA device visible)"
    return {
        "diffsal": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "PyAV": av.__version__,
        "FFmpeg": str(getattr(av, "ffmpeg_version_info", "unknown")),
        "numpy": numpy.__version__,
        "device": device,
        "torch threads": str(torch.get_num_threads()),
        "CPU cores": str(os.cpu_count()),
    }


def _parameter_counts(module: Any) -> dict[str, int]:
    parameters = list(module.parameters()) if module is not None else []
    return {
        "registered": sum(p.numel() for p in parameters),
        "trainable": sum(p.numel() for p in parameters if p.requires_grad),
    }


def model_report(spec: str) -> dict[str, Any]:
    """Parameters per component and FLOPs of the preset or saved model `spec`.

    FLOPs (multiply and add counted separately, as `torch.utils.flop_counter` does) are measured on the
    meta device: shapes only, no computation, so the paper preset costs no more than the tiny one.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from diffsal.errors import InputError
    from diffsal.models import DiffSal, DiffSalConfig
    from diffsal.models.config import PRESETS

    if spec in PRESETS:
        config = DiffSalConfig.preset(spec)
        with torch.device("meta"):
            model = DiffSal(config)
        source = f"preset {spec}"
    elif Path(spec).is_dir():
        model = DiffSal.from_pretrained(spec, map_location="cpu")
        config = model.config
        source = str(Path(spec))
    else:
        raise InputError(f"--model {spec!r} is neither a preset ({', '.join(PRESETS)}) nor a model folder")

    components = {
        "video encoder (MViTv2)": model.video_encoder,
        "audio encoder (VGGish trunk)": model.audio_encoder.trunk if model.audio_encoder is not None else None,
        "audio encoder (temporal transformer)": model.audio_encoder.temporal if model.audio_encoder is not None else None,
        "Saliency-UNet": model.saliency_unet,
    }
    parameters = {name: _parameter_counts(module) for name, module in components.items() if module is not None}
    parameters["total"] = _parameter_counts(model)

    with torch.device("meta"):
        counted = DiffSal(config)
        frames = torch.zeros(1, 3, config.num_frames, config.height, config.width)
        audio = torch.zeros(1, config.audio.num_samples) if config.use_audio else None
        noisy = torch.zeros(1, 1, config.height, config.width)
        timesteps = torch.zeros(1, dtype=torch.long)
        with FlopCounterMode(display=False) as encoders:
            conditioning = counted.encode(frames, audio)
        with FlopCounterMode(display=False) as step:
            counted.denoise(noisy, timesteps, conditioning)
    flops = {
        "video encoder": _module_flops(encoders, "VideoEncoder"),
        "audio encoder": _module_flops(encoders, "AudioEncoder"),
        "Saliency-UNet step": step.get_total_flops(),
        "per clip (1 step)": encoders.get_total_flops() + step.get_total_flops(),
        "per extra step": step.get_total_flops(),
    }
    return {
        "model": source,
        "input": f"{config.num_frames}x{config.height}x{config.width} frames"
                 + (f" + {config.audio_window_s:.2f} s audio" if config.use_audio else " (video only)"),
        "parameters": parameters,
        "flops": flops,
    }


def _module_flops(counter: Any, name: str) -> int:
    return int(sum(counter.get_flop_counts().get(name, {}).values()))


def run(args: argparse.Namespace) -> int:
    report: dict[str, Any] = {"environment": environment_report()}
    if args.model:
        report["model"] = model_report(args.model)
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
        params = Table(title=f"{model['model']}: {model['input']}")
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
    return 0
