"""Write files so that a crash never leaves a half-written result under the final name."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def _temporary_affixes(path: Path) -> tuple[str, str]:
    """(prefix, suffix) of the temporary names of `path`: ``.<stem>.<pid>-<random>.partial<suffix>``."""
    return f".{temporary_stem(path.stem)}.", f".partial{path.suffix}"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_abandoned_temporaries(path: str | Path) -> list[Path]:
    """Delete the temporary files of `path` that a killed process left (its pid no longer runs); those removed.

    A process that is killed while it writes cannot delete its temporary file; the next write of the same
    file does. Temporary files of running processes (a concurrent writer) are kept.
    """
    path = Path(path)
    prefix, suffix = _temporary_affixes(path)
    name = re.compile(re.escape(prefix) + r"(\d+)-[a-z0-9_]+" + re.escape(suffix))
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        match = name.fullmatch(entry.name)
        if match is not None and not _process_exists(int(match.group(1))) and entry.is_file(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it to `path`, on error delete it.

    The temporary name keeps the suffix, so tools that choose a format by extension still work, and holds
    the writer's pid, so that the next write of `path` deletes what a killed writer left
    (`remove_abandoned_temporaries`). The file gets the permissions of a normally created file (`mkstemp`
    alone would make it private).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temporaries(path)
    prefix, suffix = _temporary_affixes(path)
    handle, temporary = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", suffix=suffix, dir=path.parent)
    os.fchmod(handle, file_mode())
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.replace(temporary_path, path)
    finally:
        temporary_path.unlink(missing_ok=True)


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write `document` atomically as strict JSON: a NaN or inf (which JSON cannot hold) becomes null."""
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(_finite(document), indent=2, allow_nan=False) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
