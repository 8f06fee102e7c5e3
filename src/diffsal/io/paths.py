"""Checks of the paths a command reads and writes, made before any long work starts."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from diffsal.errors import InputError


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(".")


def check_output_folder(path: str | Path, *, create: bool = False, files: tuple[str, ...] = (),
                        folders: tuple[str, ...] = ()) -> Path:
    """`path` as a Path after checking that a folder can be created (or used) there; InputError otherwise.

    `files` and `folders` name what the command will write directly in it: an existing entry of the
    other kind (a folder where a file goes) is refused now rather than after the work. Nothing is
    created unless `create`: a command validates all its options first and makes its output folder
    only when it starts writing, so a rejected command leaves nothing behind.
    """
    path = Path(path)
    ancestor = _existing_ancestor(path.absolute())
    try:
        ancestor.stat()  # follows links: a dangling link or a loop fails here
    except OSError as error:
        raise InputError(f"{ancestor}: {_reason(error)}") from None
    if not ancestor.is_dir():
        what = "the output folder" if ancestor == path.absolute() else f"a parent of output folder {path}"
        raise InputError(f"{ancestor}: is a file, expected {what}")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{ancestor}: permission denied (cannot write the output folder {path})")
    try:  # something can be made there (not so in /proc, on a full disk, ...): try, and take the try back
        os.rmdir(tempfile.mkdtemp(prefix=".diffsal-probe-", dir=ancestor))
    except OSError as error:
        raise InputError(f"{ancestor}: nothing can be written there ({error.strerror or error}), so neither can the "
                         f"output {path}") from None
    for names, want_folder in ((files, False), (folders, True)):
        for name in names:
            entry = path / name
            if entry.exists() and entry.is_dir() != want_folder:
                raise InputError(f"{entry}: is a {'folder' if entry.is_dir() else 'file'}, where this command writes "
                                 f"its {'folder' if want_folder else 'file'} {name}; move it away or choose another output")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"{path}: cannot create the output folder ({_reason(error)})") from None
    return path


def check_input_path(path: str | Path, what: str = "input") -> Path:
    """`path` as a Path after checking that it exists and can be followed; InputError otherwise."""
    path = Path(path)
    try:
        path.stat()
    except OSError as error:
        if error.errno == errno.ENOENT and not os.path.lexists(path):
            raise InputError(f"{path}: no such file or folder ({what})") from None
        raise InputError(f"{path}: {_reason(error)} ({what})") from None
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied ({what})")
    return path


def absence(path: str | Path) -> str:
    """Why `path` cannot be opened, in words for a message: "missing", or the broken link that it is."""
    path = Path(path)
    if not os.path.islink(path):
        return "missing"
    try:
        path.stat()
    except OSError as error:
        return f"unreadable: {_reason(error)}"
    return "not of the expected kind"


def _reason(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if error.errno == errno.ENOENT:
        return "dangling symbolic link"
    return error.strerror or str(error)
