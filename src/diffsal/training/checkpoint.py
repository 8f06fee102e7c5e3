"""Checkpoints that survive a kill at any moment.

Layout of a run folder::

    checkpoints/step-000120/model.safetensors   weights used for inference (EMA weights when EMA is on)
    checkpoints/step-000120/config.json         the model config
    checkpoints/step-000120/training_state.pt   raw weights, optimizer, scheduler, scaler, EMA, RNG, step, epoch
                                                (tensors and plain values only: read with weights_only=True)
    checkpoints/last -> step-000120             symbolic links, swapped atomically
    checkpoints/best -> step-000100

A step folder is complete before a link points to it; links are replaced with one `rename`, so a
reader sees either the old checkpoint or the new one, never a half-written one. The training state is
never unpickled as arbitrary objects: `torch.load(weights_only=True)` accepts only tensors and plain
Python values, so a crafted file cannot run code.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from diffsal.errors import InputError, StorageError
from diffsal.models.weights import load_torch_file

TRAINING_STATE_FILE = "training_state.pt"
LINK_NAMES = ("last", "best")


class CheckpointStore:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def save(self, step: int, write_model: Callable[[Path], None], training_state: dict[str, Any],
             links: tuple[str, ...] = ("last",)) -> Path:
        """Write a complete step folder, then point each of `links` at it; drop unreferenced folders."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"step-{step:06d}"
        staging = self.folder / f".staging-step-{step:06d}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir()
            write_model(staging)
            # Serialised in memory first: torch.save reports a failed write as an opaque RuntimeError,
            # a plain file write as the OSError that names the cause (e.g. no space left on device).
            buffer = io.BytesIO()
            torch.save(training_state, buffer)
            (staging / TRAINING_STATE_FILE).write_bytes(buffer.getbuffer())
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            last = self.path("last")
            then = (f"the last complete checkpoint is {last.name}; free space, then continue with --resume" if last
                    else "no checkpoint was written yet; free space, then start the run again")
            raise StorageError(f"{self.folder}: cannot write the checkpoint of step {step} "
                               f"({error.strerror or error}); {then}") from error
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        # `last` moves last: a kill between two swaps leaves `best` ahead of `last`, and the resumed run
        # recomputes the same improvement and points both again, as the uninterrupted run did.
        for link in sorted(links, key=lambda name: name == "last"):
            self._point(link, final.name)
        self._remove_unreferenced()
        return final

    def path(self, link: str = "last") -> Path | None:
        """The step folder `link` points to, or None."""
        target = self.folder / link
        return target.resolve() if target.is_symlink() and target.resolve().is_dir() else None

    def load_training_state(self, link: str = "last", map_location: str | torch.device = "cpu") -> tuple[Path, dict[str, Any]]:
        folder = self.path(link)
        if folder is None:
            raise InputError(f"{self.folder / link}: no checkpoint to resume from")
        return folder, load_torch_file(folder / TRAINING_STATE_FILE, map_location, "diffsal training state")

    def _point(self, link: str, target_name: str) -> None:
        temporary = self.folder / f".{link}.new"
        temporary.unlink(missing_ok=True)
        os.symlink(target_name, temporary)
        os.replace(temporary, self.folder / link)

    def _remove_unreferenced(self) -> None:
        referenced = {os.readlink(self.folder / link) for link in LINK_NAMES if (self.folder / link).is_symlink()}
        for entry in self.folder.iterdir():
            if entry.name.startswith("step-") and entry.name not in referenced:
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(".staging-"):
                shutil.rmtree(entry, ignore_errors=True)
