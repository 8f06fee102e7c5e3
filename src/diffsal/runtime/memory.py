"""Keep freed memory in the process while scoring: fresh multi-megabyte arrays otherwise cost page faults.

Scoring one 360x640 frame allocates a few dozen float64 temporaries of 1.8 MB. glibc serves
blocks that large with mmap and returns them on free, so every temporary is faulted in page by
page again, and with several threads each unmap also interrupts the other cores: measured, that
was as much time as the arithmetic. Raising glibc's mmap and trim thresholds makes freed blocks
reusable. Process-wide and glibc-only, so it is applied by what scores (`diffsal evaluate`, the benchmark),
never on import; elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1  # glibc mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
_THRESHOLD_BYTES = 256 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Ask glibc to reuse freed blocks up to 256 MiB instead of unmapping them; True if it applied."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, _THRESHOLD_BYTES))
