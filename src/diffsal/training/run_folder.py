"""What a training run may do with its folder: start, resume or overwrite, never lose a finished run.

A run folder holds `config.yaml`, `log.jsonl`, `tensorboard/` and `checkpoints/`. A fresh run
starts only in a new or empty folder, or in one left by a run killed before its first checkpoint
(nothing finished to lose). A folder with checkpoints is continued with ``--resume`` or started
again with ``--overwrite``, which deletes the run's own files (and nothing else in the folder).
``--resume`` needs a checkpoint and the recipe the run was started with (its ``config.yaml``): only
the run's length, cadence, worker count, data root and folder may change.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from diffsal.errors import InputError
from diffsal.io.paths import check_output_folder
from diffsal.training.checkpoint import LINK_NAMES

CHECKPOINTS_DIR = "checkpoints"
LOG_NAME = "log.jsonl"
TENSORBOARD_DIR = "tensorboard"
RESOLVED_CONFIG = "config.yaml"
RUN_ENTRIES = (CHECKPOINTS_DIR, LOG_NAME, TENSORBOARD_DIR, RESOLVED_CONFIG)
FOLDER_ENTRIES = (CHECKPOINTS_DIR, TENSORBOARD_DIR)
NAMES_SHOWN = 3
# Recipe keys a resumed run may change: they do not change what the steps compute.
RESUMABLE_CHANGES = frozenset({"out_dir", "data.root", "data.num_workers", "train.max_steps", "train.epochs",
                               "train.log_every", "train.eval_every", "train.checkpoint_every"})


def check_run_folder(run_dir: str | Path, *, resume: bool, overwrite: bool, recipe: dict[str, Any],
                     known: tuple[str, ...] = ()) -> Path:
    """Check that a run of `recipe` (the plain dict of the config) may use `run_dir` as asked; InputError
    naming the way out otherwise. `known`: other entries the kind of run keeps there (a distillation's teacher
    cache and report). Read-only."""
    run_dir = check_output_folder(run_dir)
    if resume and overwrite:
        raise InputError("--resume continues a run and --overwrite deletes it: give one of them")
    if not run_dir.exists():
        if resume:
            raise InputError(f"{run_dir}: no checkpoint to resume from (no training run there; start it without "
                             "--resume)")
        return run_dir
    for name in RUN_ENTRIES:
        entry = run_dir / name
        if entry.exists() and entry.is_dir() != (name in FOLDER_ENTRIES):
            raise InputError(f"{entry}: is a {'folder' if entry.is_dir() else 'file'}, which a training run "
                             f"cannot use as its {name}; move it away or choose another out_dir")
    if resume:
        _check_resumable(run_dir, recipe)
    if resume or overwrite:
        return run_dir
    checkpoints = _checkpoint_entries(run_dir)
    if checkpoints:
        raise InputError(f"{run_dir} already holds a training run ({', '.join(checkpoints)} in {CHECKPOINTS_DIR}/): "
                         "continue it with --resume, start it again with --overwrite (deletes its checkpoints "
                         "and log), or choose another out_dir")
    foreign = sorted(entry.name for entry in run_dir.iterdir() if entry.name not in RUN_ENTRIES + known)
    if foreign:
        shown = ", ".join(foreign[:NAMES_SHOWN]) + (" ..." if len(foreign) > NAMES_SHOWN else "")
        raise InputError(f"{run_dir} is not empty and is not a training run (it holds {shown}): "
                         "choose a new or empty out_dir")
    return run_dir


def _check_resumable(run_dir: Path, recipe: dict[str, Any]) -> None:
    if not (run_dir / CHECKPOINTS_DIR / "last").is_symlink():
        raise InputError(f"{run_dir}: no checkpoint to resume from (the run stopped before its first checkpoint; "
                         "start it again without --resume)")
    saved_path = run_dir / RESOLVED_CONFIG
    try:
        saved = yaml.safe_load(saved_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # the checkpoint itself is checked when it is loaded
    if not isinstance(saved, dict):
        return
    before, now = _flat(saved), _flat(recipe)
    changed = sorted(key for key in before.keys() | now.keys()
                     if key not in RESUMABLE_CHANGES and before.get(key) != now.get(key))
    if changed:
        shown = ", ".join(f"{key} ({before.get(key)!r} -> {now.get(key)!r})" for key in changed[:NAMES_SHOWN])
        more = f" and {len(changed) - NAMES_SHOWN} more" if len(changed) > NAMES_SHOWN else ""
        raise InputError(f"{run_dir}: --resume with a recipe that differs from the run's {RESOLVED_CONFIG}: {shown}{more}; "
                         "resume with the run's recipe, or start again with --overwrite")


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a.b": value} for a nested dict (lists and tuples compared as lists)."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = list(value) if isinstance(value, tuple) else value
    return flat


def clear_run(run_dir: Path, also: tuple[str, ...] = ()) -> None:
    """Delete the files of the run in `run_dir`, and the entries `also` (for --overwrite); other files stay."""
    for name in RUN_ENTRIES + also:
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
