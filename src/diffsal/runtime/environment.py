"""What this process runs on: versions of diffsal and its libraries, the device, threads and cores."""

from __future__ import annotations

import os
import platform


def environment_report() -> dict[str, str]:
    """The versions of diffsal, Python, torch, torchvision, PyAV/FFmpeg and numpy; device, threads, cores."""
    import av
    import numpy
    import torch
    import torchvision

    from diffsal import __version__
    from diffsal.runtime.launch import describe_devices

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
