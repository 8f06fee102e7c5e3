"""`diffsal info`: versions, device and threads — what a bug report needs."""

from __future__ import annotations

import argparse
import os
import platform

from rich.console import Console
from rich.table import Table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="show versions of diffsal, torch, torchvision, PyAV/FFmpeg and the device")
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


def run(args: argparse.Namespace) -> int:
    table = Table(title="diffsal environment", show_header=False)
    for key, value in environment_report().items():
        table.add_row(key, value)
    Console().print(table)
    return 0
