"""Progress of a prediction run: an overall bar (videos) and a bar for the current video (frames).

On a terminal the bars are drawn with rich; otherwise (logs, CI, torchrun's piped output) one line
per finished video is printed instead. Everything goes to stderr, so stdout stays for results.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class RunProgress:
    """Reports a run of `total` videos; `prefix` names the torchrun rank; `live` allows bars (one rank only)."""

    def __init__(self, total: int, prefix: str = "", enabled: bool = True, live: bool = True) -> None:
        self.total = total
        self.prefix = prefix
        self.enabled = enabled
        self.finished = 0
        self._console = Console(stderr=True)
        self._bars: Progress | None = None
        if enabled and live and sys.stderr.isatty():
            self._bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), console=self._console, transient=False)
            self._bars.start()
            self._overall = self._bars.add_task(f"{prefix}videos", total=total)
            self._video = self._bars.add_task("", total=1, visible=False)

    def start_video(self, key: str, num_frames: int) -> None:
        if self._bars is not None:
            self._bars.reset(self._video, total=num_frames, description=f"{self.prefix}{key}", visible=True)

    def frames(self, done: int, total: int) -> None:
        if self._bars is not None:
            self._bars.update(self._video, completed=done, total=total)

    def end_video(self, key: str, outcome: str) -> None:
        """`outcome`: "done ...", "skipped ...", or "FAILED: <reason>"."""
        self.finished += 1
        line = f"{self.prefix}[{self.finished}/{self.total}] {key}: {outcome}"
        if self._bars is not None:
            self._bars.update(self._overall, completed=self.finished)
            self._bars.update(self._video, visible=False)
            self._bars.console.print(line, markup=False, highlight=False)
        elif self.enabled or outcome.startswith("FAILED"):
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
