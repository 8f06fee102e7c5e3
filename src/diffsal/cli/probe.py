"""`diffsal probe VIDEO`: container, duration, fps, frames, size, rotation and audio of a media file."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from diffsal.io.probe import probe
from diffsal.io.video import Orientation


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("probe", help="describe a video file (frames are counted exactly)")
    parser.add_argument("video", help="video file (mp4, avi, mkv, webm, mov, ...)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    info = probe(args.video)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    table = Table(title=str(args.video), show_header=False)
    table.add_row("container", info.container)
    table.add_row("duration", f"{info.duration_s:.3f} s")
    table.add_row("fps", f"{info.fps:.3f}")
    table.add_row("frames", str(info.num_frames))
    table.add_row("size", f"{info.width}x{info.height} (as shown)")
    orientation = Orientation(info.rotation_deg, info.mirrored)
    applied = "" if orientation == Orientation() else " (applied: frames and maps come out upright)"
    table.add_row("rotation", orientation.describe() + applied)
    table.add_row("video codec", info.video_codec)
    if info.audio is None:
        table.add_row("audio", "no audio")
    else:
        audio = info.audio
        channels = f"{audio.channels} channel(s) ({audio.layout})"
        table.add_row("audio", f"{audio.codec}, {audio.sample_rate_hz} Hz, {channels}")
    Console().print(table)
    return 0

