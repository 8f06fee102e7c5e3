"""Write files so that a crash never leaves a half-written result under the final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Room for the random part and ".partial" of a temporary name within the 255-byte file-name limit.
TEMPORARY_STEM_BYTES = 120


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def file_mode() -> int:
    """The permission bits a plain `open(path, "w")` would give a new file under the process umask."""
    return 0o666 & ~_UMASK


def temporary_stem(name: str) -> str:
    """`name` shortened (on a character boundary) so that a temporary name built from it stays legal."""
    encoded = name.encode()
    if len(encoded) <= TEMPORARY_STEM_BYTES:
        return name
    return encoded[:TEMPORARY_STEM_BYTES].decode(errors="ignore")


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it to `path`, on error delete it.

    The temporary name keeps the suffix, so tools that choose a format by extension still work. The
    file gets the permissions of a normally created file (`mkstemp` alone would make it private).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{temporary_stem(path.stem)}.", suffix=f".partial{path.suffix}",
                                         dir=path.parent)
    os.fchmod(handle, file_mode())
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.replace(temporary_path, path)
    finally:
        temporary_path.unlink(missing_ok=True)
