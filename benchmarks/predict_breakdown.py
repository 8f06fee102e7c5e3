"""Where each second of a whole `diffsal predict` goes, on a 1280x720 30 fps mp4 with sound.

    python benchmarks/predict_breakdown.py [--preset paper] [--frames 96] [--size 1280x720] [--fps 30]
                                           [--frames-out K] [--threads 2] [--device cpu] [-- predict options ...]

Generates a test-pattern H.264 + AAC video, saves a randomly initialised model of the preset (speed does not
depend on the weights; K and everything else at the preset's defaults), and runs `diffsal predict VIDEO --model
M --out O` in this process with the preset's default settings (overlay.mp4 included) plus any options after
`--`. Each stage is timed by wrapping the function that does it; stages in other threads (reading ahead,
writing behind) overlap with the model, so their seconds can add up to more than the wall time. The table
gives each stage's seconds, per frame, and as a share of the command's wall time (the CLI call in this process:
argument checks, model loading, prediction, rendering; Python's start-up and imports are not in it), then the
share of the wall time outside the model's forward passes.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from diffsal.io import AudioTrack, write_video

# the test media (tests/media.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from media import pattern_frame, tone  # noqa: E402


class StageTimes:
    """Seconds spent in each wrapped function, summed over calls and threads."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def wrap(self, owner, name: str, stage: str) -> None:
        original = getattr(owner, name)
        is_static = isinstance(owner.__dict__.get(name), staticmethod)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[stage] += time.perf_counter() - started
                    self.calls[stage] += 1

        setattr(owner, name, staticmethod(timed) if is_static else timed)


def make_video(path: Path, frames: int, width: int, height: int, fps: int) -> Path:
    rate = 44_100
    seconds = frames / fps
    audio = AudioTrack(np.stack([tone(seconds, rate, 440), tone(seconds, rate, 660)]), rate)
    write_video(path, (pattern_frame(index, width, height) for index in range(frames)), fps, audio)
    return path


def instrument(times: StageTimes) -> None:
    from diffsal.inference import render, runner
    from diffsal.inference.predictor import Predictor
    from diffsal.io.clip import ClipReader

    times.wrap(ClipReader, "clip", "clip reading: decode, resize, normalise (read-ahead thread)")
    times.wrap(Predictor, "_clip_audio", "audio windows (read-ahead thread)")
    times.wrap(runner, "read_audio", "sound track: decode + resample")
    times.wrap(Predictor, "_predict", "model forward passes")
    times.wrap(Predictor, "_frame_map", "maps to the frame size")
    times.wrap(runner.PredictionRun, "_write_frame", "map PNGs (write-behind threads)")
    times.wrap(render, "blend", "overlay.mp4: blending (feed thread; its decoding and encoding not counted)")
    times.wrap(runner, "render_videos", "second-pass videos (panel, uncertainty)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--frames-out", type=int, default=None, help="K maps per clip (default: the preset's)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("predict_options", nargs="*", help="after --: more `diffsal predict` options")
    args = parser.parse_args()
    width, height = (int(value) for value in args.size.split("x"))
    if args.threads:
        torch.set_num_threads(args.threads)

    from diffsal.cli import main as diffsal_main
    from diffsal.models import DiffSal, DiffSalConfig

    times = StageTimes()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        video = make_video(scratch / "clip.mp4", args.frames, width, height, args.fps)
        torch.manual_seed(0)
        config = DiffSalConfig.preset(args.preset)
        if args.frames_out is not None:
            config = dataclasses.replace(config, frames_out=args.frames_out)
        model = DiffSal(config)
        model.save_pretrained(scratch / "model")
        frames_out = model.config.frames_out
        del model
        instrument(times)
        command = ["predict", str(video), "--model", str(scratch / "model"), "--out", str(scratch / "out"),
                   "--device", args.device, "--quiet", *args.predict_options]
        if args.threads:
            command += ["--threads", str(args.threads)]
        started = time.perf_counter()
        code = diffsal_main(command)
        wall = time.perf_counter() - started
        if code != 0:
            raise SystemExit(f"diffsal predict exited with {code}")
        summary = (scratch / "out" / "clip" / "summary.json").read_text()

    import json

    summary = json.loads(summary)
    frames = summary["frames"]
    model_s = times.seconds["model forward passes"]
    print(f"diffsal predict, {args.preset} preset (K = {frames_out}, batch {summary['batch_size']}, "
          f"{summary['steps']} step(s), {summary['precision']}), {width}x{height} {args.fps} fps, {frames} frames, "
          f"{torch.get_num_threads()} torch thread(s), device {args.device}")
    print(f"whole command {wall:.2f} s = {frames / wall:.2f} frames/s; prediction pass (summary.json) "
          f"{summary['time']['predict_s']:.2f} s = {summary['time']['frames_per_s']:.2f} frames/s\n")
    print("| stage | s | ms / frame | share of the wall time |")
    print("|---|---:|---:|---:|")
    for stage, seconds in sorted(times.seconds.items(), key=lambda item: -item[1]):
        print(f"| {stage} | {seconds:.2f} | {1000 * seconds / frames:.1f} | {100 * seconds / wall:.1f} % |")
    print(f"| whole command (wall) | {wall:.2f} | {1000 * wall / frames:.1f} | 100 % |")
    print(f"\noutside the model: {wall - model_s:.2f} s of {wall:.2f} s = **{100 * (wall - model_s) / wall:.1f} %**")


if __name__ == "__main__":
    main()
