"""What a training run tells the user: a rich progress bar, TensorBoard scalars/images, a JSONL log.

Only the main process (rank 0) creates a `RunLog`; other ranks use `NullRunLog`. A resumed run
continues the log of the run it resumes: the records a killed run wrote after its last checkpoint
are dropped first (the resumed run computes those steps again), so each step is logged once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from diffsal.training.run_folder import LOG_NAME, TENSORBOARD_DIR
from diffsal.io.atomic import atomic_output


def truncate_log(path: Path, last_step: int) -> None:
    """Keep the records of `path` up to step `last_step` (a torn last line of a killed run goes too)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= last_step:
            kept.append(line + "\n")
    with atomic_output(path) as temporary:
        temporary.write_text("".join(kept), encoding="utf-8")


class RunLog:
    def __init__(self, run_dir: Path, total_steps: int, start_step: int = 0, console: Console | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir = run_dir
        self.console = console or Console(stderr=True)
        truncate_log(run_dir / LOG_NAME, start_step)
        self._jsonl = open(run_dir / LOG_NAME, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._tensorboard = SummaryWriter(log_dir=str(run_dir / TENSORBOARD_DIR), purge_step=start_step or None)
        self._progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  lr {task.fields[lr]}  {task.fields[speed]} clips/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task = self._progress.add_task("train", total=total_steps, completed=start_step,
                                             loss="-", lr="-", speed="-")
        self._progress.start()
        self._last_time = time.perf_counter()

    def step(self, step: int, scalars: dict[str, float], clips: int) -> None:
        """Record the scalars of optimizer step `step`; `clips` were processed since the last call."""
        now = time.perf_counter()
        clips_per_s = clips / max(now - self._last_time, 1e-9)
        self._last_time = now
        scalars = {**scalars, "clips_per_s": clips_per_s}
        self._progress.update(self._task, completed=step, loss=f"{scalars.get('loss', float('nan')):.4f}",
                              lr=f"{scalars.get('lr', float('nan')):.2e}", speed=f"{clips_per_s:.1f}")
        self.write("train", step, scalars)

    def write(self, kind: str, step: int, scalars: dict[str, Any]) -> None:
        # JSON has no NaN: a value that is not finite (no validation map scored, say) is written as null.
        finite = {name: None if isinstance(value, float) and not np.isfinite(value) else value
                  for name, value in scalars.items()}
        record = {"kind": kind, "step": step, "time": time.time(), **finite}
        self._jsonl.write(json.dumps(record, allow_nan=False) + "\n")
        self._jsonl.flush()
        for name, value in scalars.items():
            if isinstance(value, (int, float)) and np.isfinite(value):
                self._tensorboard.add_scalar(f"{kind}/{name}", value, step)

    def images(self, step: int, name: str, images: np.ndarray) -> None:
        """Log maps `(N, H, W)` in [0, 1] as one image grid row."""
        row = np.concatenate(list(np.clip(images, 0, 1)), axis=1)
        self._tensorboard.add_image(name, row[None], step, dataformats="CHW")

    def message(self, text: str) -> None:
        self._progress.console.print(text)

    def close(self) -> None:
        self._progress.stop()
        self._tensorboard.close()
        self._jsonl.close()


class NullRunLog:
    """Stand-in for ranks other than 0: everything is a no-op."""

    def step(self, step: int, scalars: dict[str, float], clips: int) -> None:
        pass

    def write(self, kind: str, step: int, scalars: dict[str, Any]) -> None:
        pass

    def images(self, step: int, name: str, images: np.ndarray) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass
