"""`diffsal info`: versions, device and threads — what a bug report needs; with `--model`, the model's size and cost."""

from __future__ import annotations

import argparse
import json
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


def run(args: argparse.Namespace) -> int:
    from diffsal.models.inventory import model_report, timing_report
    from diffsal.runtime import environment_report

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
