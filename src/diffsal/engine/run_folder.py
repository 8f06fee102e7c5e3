"""What a training run may do with its folder: start, resume or overwrite, never lose a finished run.

A run folder holds `config.yaml`, `log.jsonl`, `tensorboard/` and `checkpoints/`. A fresh run
starts only in a new or empty folder, or in one left by a run killed before its first checkpoint
(nothing finished to lose). A folder with checkpoints is continued with ``--resume`` or started
again with ``--overwrite``, which deletes the run's own files (and nothing else in the folder).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from diffsal.engine.checkpoint import LINK_NAMES
from diffsal.errors import InputError
from diffsal.io.paths import check_output_folder

CHECKPOINTS_DIR = "checkpoints"
LOG_NAME = "log.jsonl"
TENSORBOARD_DIR = "tensorboard"
RESOLVED_CONFIG = "config.yaml"
RUN_ENTRIES = (CHECKPOINTS_DIR, LOG_NAME, TENSORBOARD_DIR, RESOLVED_CONFIG)
NAMES_SHOWN = 3


def check_run_folder(run_dir: str | Path, *, resume: bool, overwrite: bool) -> Path:
    """Check that a run may use `run_dir` as asked; InputError naming the way out otherwise. Read-only."""
    run_dir = check_output_folder(run_dir)
    if resume and overwrite:
        raise InputError("--resume continues a run and --overwrite deletes it: give one of them")
    if resume or overwrite or not run_dir.exists():
        return run_dir
    checkpoints = _checkpoint_entries(run_dir)
    if checkpoints:
        raise InputError(f"{run_dir} already holds a training run ({', '.join(checkpoints)} in {CHECKPOINTS_DIR}/): "
                         "continue it with --resume, start it again with --overwrite (deletes its checkpoints "
                         "and log), or choose another out_dir")
    foreign = sorted(entry.name for entry in run_dir.iterdir() if entry.name not in RUN_ENTRIES)
    if foreign:
        shown = ", ".join(foreign[:NAMES_SHOWN]) + (" ..." if len(foreign) > NAMES_SHOWN else "")
        raise InputError(f"{run_dir} is not empty and is not a training run (it holds {shown}): "
                         "choose a new or empty out_dir")
    return run_dir


def clear_run(run_dir: Path) -> None:
    """Delete the files of the run in `run_dir` (for --overwrite); other files stay."""
    for name in RUN_ENTRIES:
        entry = run_dir / name
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        elif entry.exists() or entry.is_symlink():
            entry.unlink()


def _checkpoint_entries(run_dir: Path) -> list[str]:
    folder = run_dir / CHECKPOINTS_DIR
    if not folder.is_dir():
        return []
    return sorted(entry.name for entry in folder.iterdir()
                  if entry.name in LINK_NAMES or entry.name.startswith("step-"))
