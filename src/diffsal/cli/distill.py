"""`diffsal distill --config RECIPE.yaml [key=value ...]`: a student learns a teacher's maps; same under torchrun."""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from diffsal.cli._arguments import add_device


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "distill",
        help="train a fast student on a teacher's maps (a model folder or a folder of maps) over unlabelled videos",
        description="Distil a teacher into a student (configs/distill_*.yaml). The teacher's maps are computed once "
                    "into a cache; the student trains on the same loop as `train` (resume, DDP under torchrun). "
                    "The run ends with the student's agreement with the teacher on held-out videos.",
    )
    parser.add_argument("--config", help="distillation recipe YAML (see configs/)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="override recipe keys, e.g. teacher.path=runs/x/checkpoints/best")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    parser.add_argument("--overwrite", action="store_true",
                        help="start again in a run folder that holds a run (deletes its checkpoints, log and report; "
                             "the teacher cache stays)")
    parser.add_argument("--teacher-cache", metavar="DIR",
                        help="a cache folder of teacher maps shared between runs (default: teacher_cache/ in the run)")
    parser.add_argument("--no-audio", action="store_true",
                        help="accept videos without sound for an audio-visual student: they are fed silence")
    add_device(parser)
    parser.set_defaults(handler=run)


class CacheProgress:
    """The teacher's maps being made: a bar with the time remaining on a terminal, else a line per video."""

    def __init__(self) -> None:
        self._bars: Progress | None = None
        self._video = ""
        self._started = time.perf_counter()
        if sys.stderr.isatty():
            self._bars = Progress(TextColumn("teacher maps {task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), console=Console(stderr=True))
            self._bars.start()
            self._task = self._bars.add_task("", total=None)

    def __call__(self, video: str, done: int, total: int) -> None:
        if self._bars is not None:
            self._bars.update(self._task, completed=done, total=total, description=video)
        elif video != self._video:
            self._video = video
            elapsed = time.perf_counter() - self._started
            remaining = elapsed / done * (total - done) if done else float("nan")
            print(f"teacher maps: {video} ({done}/{total} frames, about {remaining:.0f} s left)", file=sys.stderr,
                  flush=True)

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()


def run(args: argparse.Namespace) -> int:
    from diffsal.distillation.run import distill_recipe

    overrides = list(args.overrides)
    if args.teacher_cache is not None:
        overrides.append(f"teacher_cache={args.teacher_cache}")
    if args.no_audio:
        overrides.append("videos.without_sound=silence")
    progress = CacheProgress()
    try:
        result = distill_recipe(args.config, overrides, resume=args.resume, overwrite=args.overwrite,
                                device=args.device, progress=progress)
    finally:
        progress.close()
    for line in result.summary_lines():
        print(line)
    return 0
