"""Speed and peak memory of `diffsal predict` on CPU, per model preset and number of DDIM steps.

    python benchmarks/predict_bench.py [--presets tiny,paper] [--steps 1,2,4] [--tiny-frames 48]
                                       [--paper-frames 3] [--size 320x180] [--threads 1] [--overlay]

Each (preset, steps) runs `diffsal predict` in a fresh process on a generated test-pattern mp4 with
sound, with a randomly initialised model of the preset (speed does not depend on the weights), and
reports: frames/s and s/frame of the prediction pass (from the video's summary.json: clip reading,
audio windows, the model, PNG writing), the wall time of the whole command (Python start-up, model
loading, everything), and the peak resident memory of that process. `--overlay` also writes
overlay.mp4 and reports its rendering time. The paper preset costs seconds per frame on a CPU:
time only a few frames.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from diffsal.io import AudioTrack, write_video
from diffsal.models import DiffSal

# the test media (tests/media.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from media import pattern_frame, tone  # noqa: E402

FPS = 25


def make_video(path: Path, num_frames: int, width: int, height: int) -> Path:
    rate = 44_100
    seconds = num_frames / FPS
    audio = AudioTrack(np.stack([tone(seconds, rate, 440), tone(seconds, rate, 660)]), rate)
    write_video(path, (pattern_frame(index, width, height) for index in range(num_frames)), FPS, audio)
    return path


def run_predict(video: Path, model_dir: Path, out: Path, steps: int, batch_size: int, threads: int,
                overlay: bool) -> dict:
    """One `diffsal predict` process: its summary.json numbers, wall time and peak RSS."""
    command = [sys.executable, "-m", "diffsal", "predict", str(video), "--model", str(model_dir), "--out", str(out),
               "--steps", str(steps), "--batch-size", str(batch_size), "--device", "cpu", "--threads", str(threads),
               "--quiet"]
    if not overlay:
        command.append("--no-overlay")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall_s = time.perf_counter() - started
    stderr = process.stderr.read()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"diffsal predict failed:\n{stderr}")
    summary = json.loads((out / video.stem / "summary.json").read_text())
    return {
        "frames": summary["frames"],
        "frames_per_s": summary["frames"] / summary["time"]["predict_s"],
        "s_per_frame": summary["time"]["s_per_frame"],
        "render_s": summary["time"]["render_s"],
        "wall_s": wall_s,
        "peak_rss_mib": usage.ru_maxrss / 1024,  # Linux reports KiB
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="tiny,paper")
    parser.add_argument("--steps", default="1,2,4")
    parser.add_argument("--tiny-frames", type=int, default=48)
    parser.add_argument("--paper-frames", type=int, default=3)
    parser.add_argument("--size", default="320x180", help="WxH of the test video")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch/OMP threads of the predict process (default 1: on a shared CPU more threads "
                             "oversubscribe the cores and run several times slower)")
    parser.add_argument("--overlay", action="store_true", help="also render overlay.mp4 (reported as render_s)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    width, height = (int(value) for value in args.size.lower().split("x"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="predict_bench_") as scratch:
        scratch = Path(scratch)
        for preset in [name.strip() for name in args.presets.split(",") if name.strip()]:
            torch.manual_seed(0)
            model = DiffSal.from_preset(preset)
            parameters_m = sum(p.numel() for p in model.parameters()) / 1e6
            model_dir = model.save_pretrained(scratch / f"model_{preset}")
            del model
            frames = args.tiny_frames if preset == "tiny" else args.paper_frames
            video = make_video(scratch / f"bench_{preset}.mp4", frames, width, height)
            for steps in (int(value) for value in args.steps.split(",")):
                out = scratch / f"out_{preset}_{steps}"
                result = run_predict(video, model_dir, out, steps, args.batch_size, args.threads, args.overlay)
                row = {"preset": preset, "parameters_m": round(parameters_m, 1), "steps": steps, **result}
                rows.append(row)
                print(f"{preset:>6} {steps} step(s): {result['frames_per_s']:.3f} frames/s "
                      f"({result['s_per_frame']:.3f} s/frame), wall {result['wall_s']:.1f} s, "
                      f"peak RSS {result['peak_rss_mib']:.0f} MiB", file=sys.stderr, flush=True)
    print(f"\n{width}x{height} test video with sound, batch size {args.batch_size}, {args.threads} thread(s)\n")
    print("| preset | params (M) | steps | frames | frames/s | s/frame | wall s (whole command) | peak RSS (MiB) |"
          + (" overlay render s |" if args.overlay else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if args.overlay else ""))
    for row in rows:
        print(f"| {row['preset']} | {row['parameters_m']} | {row['steps']} | {row['frames']} | {row['frames_per_s']:.3f} | "
              f"{row['s_per_frame']:.3f} | {row['wall_s']:.1f} | {row['peak_rss_mib']:.0f} |"
              + (f" {row['render_s']:.2f} |" if args.overlay else ""))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
