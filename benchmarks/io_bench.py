"""Media I/O speed: clip reading (sliding window and random access) and audio windows.

    python benchmarks/io_bench.py [--seconds 60] [--size 1280x720] [--fps 30]

Generates a test-pattern mp4 with audio (cached under runs/bench/), then prints a table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from diffsal.io import AudioTrack, ClipReader, VideoReader, read_audio, write_video
from diffsal.models.preprocessing import diffsal_preprocessing

# the test media (tests/media.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from media import pattern_frame, tone  # noqa: E402


def make_video(path: Path, seconds: int, width: int, height: int, fps: int) -> Path:
    if path.exists():
        return path
    rate = 44_100
    audio = AudioTrack(np.stack([tone(seconds, rate, 440), tone(seconds, rate, 660)]), rate)
    base = pattern_frame(0, width, height)
    frames = (_stamp(base, index) for index in range(seconds * fps))
    write_video(path, frames, fps, audio)
    return path


def _stamp(base: np.ndarray, index: int) -> np.ndarray:
    """Cheap per-frame change: the pattern's code band only (generating full frames would dominate)."""
    small = pattern_frame(index, base.shape[1], 16)
    frame = base.copy()
    frame[: small.shape[0]] = small
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--clips", type=int, default=150, help="clips timed per access pattern")
    args = parser.parse_args()
    width, height = (int(value) for value in args.size.split("x"))
    path = Path("runs/bench") / f"io_{width}x{height}_{args.fps}fps_{args.seconds}s.mp4"
    started = time.perf_counter()
    make_video(path, args.seconds, width, height, args.fps)
    print(f"test video: {path} ({time.perf_counter() - started:.1f} s to make or find)")

    rows = []
    video = VideoReader(path)
    index_ms = _timed_ms(lambda: VideoReader(path).close())
    rows.append(("open + index packets", f"{index_ms:.1f}", "once per video"))

    reader = ClipReader(video, clip_length=16, transform=diffsal_preprocessing((224, 384)).frames)
    reader.clip(0)
    start = time.perf_counter()
    for centre in range(1, args.clips + 1):
        reader.clip(centre)
    rows.append(("16-frame clip, sliding window (stride 1)", f"{(time.perf_counter() - start) / args.clips * 1e3:.1f}", "224x384"))

    rng = np.random.default_rng(0)
    centres = rng.integers(0, video.num_frames, size=args.clips // 3)
    random_reader = ClipReader(VideoReader(path), clip_length=16, transform=diffsal_preprocessing((224, 384)).frames)
    start = time.perf_counter()
    for centre in centres:
        random_reader.clip(int(centre))
    rows.append(("16-frame clip, random access", f"{(time.perf_counter() - start) / len(centres) * 1e3:.1f}", "224x384"))

    start = time.perf_counter()
    track = read_audio(path)
    rows.append(("decode + resample whole audio track", f"{(time.perf_counter() - start) * 1e3:.1f}",
                 f"{args.seconds} s stereo 44.1 kHz -> 16 kHz mono"))
    times = rng.uniform(0, args.seconds, size=1000)
    start = time.perf_counter()
    for center_s in times:
        track.window(float(center_s), 1.52)
    rows.append(("1.52 s audio window", f"{(time.perf_counter() - start) / len(times) * 1e3:.3f}", "from the decoded track"))

    table = Table(title=f"media I/O, {width}x{height} {args.fps} fps {args.seconds} s h264+aac")
    table.add_column("operation")
    table.add_column("ms", justify="right")
    table.add_column("note")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _timed_ms(function) -> float:
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1e3


if __name__ == "__main__":
    main()
