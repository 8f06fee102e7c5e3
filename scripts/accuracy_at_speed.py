"""Accuracy at speed on the synthetic benchmark: K = 8 maps per clip vs K = 1, and bf16 vs fp32.

    python scripts/accuracy_at_speed.py DATA [--out runs/accuracy_at_speed] [--frames-out 8] [--seed 0]
                                        [--bf16-videos 3]

1. Trains the tiny preset twice with `configs/synthetic_tiny.yaml` on DATA (same data, seed and training
   budget): K = 1 (`OUT/k1`) and K = `--frames-out` (`OUT/k8`). An existing `checkpoints/best` is reused.
2. Predicts split 1's test videos with each model (`diffsal predict`, fp32, seed 0) and scores them with
   `diffsal evaluate` (STAViS protocol), timing the prediction.
3. bf16 vs fp32: maps of the first `--bf16-videos` test videos predicted by each model in both precisions
   (the `Predictor` API, same seed), and the CC between the bf16 and the fp32 map of every frame.
Prints a markdown table; every number in docs/results.md's "Accuracy at speed" comes from this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from diffsal.data.fold_lists import read_fold_list
from diffsal.data.layout import StavisLayout
from diffsal.inference import Predictor
from diffsal.io.audio import read_audio
from diffsal.io.frame_folder import STAVIS_FRAME_PATTERN, FrameFolder
from diffsal.metrics import cc

DATABASE = "Synthetic"
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "synthetic_tiny.yaml"


def diffsal(*args: str | Path) -> None:
    command = [sys.executable, "-m", "diffsal", *map(str, args)]
    print("$ diffsal " + " ".join(map(str, args)), file=sys.stderr, flush=True)
    subprocess.run(command, check=True)


def train(data: Path, run: Path, frames_out: int, steps: int | None, seed: int) -> Path:
    best = run / "checkpoints" / "best"
    if not best.is_dir():
        overrides = [f"data.root={data}", f"out_dir={run}", f"model.overrides.frames_out={frames_out}",
                     f"train.seed={seed}"]
        if steps is not None:
            overrides.append(f"train.max_steps={steps}")
        diffsal("train", "--config", CONFIG, *overrides)
    return best


def predict_and_evaluate(data: Path, model: Path, run: Path) -> dict:
    predictions, evaluation = run / "predictions_fp32", run / "evaluation_fp32"
    started = time.perf_counter()
    diffsal("predict", data, "--model", model, "--split", "1", "--out", predictions, "--no-overlay", "--seed", "0",
            "--threads", "1", "--quiet", "--overwrite")
    predict_s = time.perf_counter() - started
    diffsal("evaluate", data, predictions, "--split", "1", "--out", evaluation, "--workers", "1")
    scores = json.loads((evaluation / "metrics.json").read_text())["databases"][DATABASE]["scores"]
    frames = sum(json.loads(path.read_text())["frames"] for path in predictions.glob(f"{DATABASE}/*/summary.json"))
    return {"scores": scores, "predict_s": predict_s, "frames": frames}


def bf16_agreement(data: Path, model: Path, videos: int) -> dict:
    """CC between the bf16 and the fp32 map of every frame of the first `videos` test videos."""
    layout = StavisLayout(data)
    entries = read_fold_list(layout.fold_list(DATABASE, "test", 1)).entries[:videos]
    maps = {}
    seconds = {}
    for precision in ("fp32", "bf16"):
        predictor = Predictor.from_pretrained(model, device="cpu", seed=0, precision=precision)
        started = time.perf_counter()
        maps[precision] = []
        for entry in entries:
            source = FrameFolder(layout.frames_dir(DATABASE, entry.video), entry.fps, STAVIS_FRAME_PATTERN)
            track = read_audio(layout.wav_path(DATABASE, entry.video), predictor.config.sample_rate_hz, mono=True)
            maps[precision].extend(frame.mean for frame in predictor.iter_video(source, track))
        seconds[precision] = time.perf_counter() - started
    correlations = np.array([cc(full, half) for full, half in zip(maps["fp32"], maps["bf16"])])
    return {"frames": len(correlations), "mean_cc": float(correlations.mean()), "min_cc": float(correlations.min()),
            "fp32_s": seconds["fp32"], "bf16_s": seconds["bf16"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="a synthetic benchmark root (`diffsal synth`)")
    parser.add_argument("--out", type=Path, default=Path("runs/accuracy_at_speed"))
    parser.add_argument("--frames-out", type=int, default=8, help="K of the multi-frame model (default 8)")
    parser.add_argument("--steps", type=int, help="training steps (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0, the recipe's)")
    parser.add_argument("--bf16-videos", type=int, default=3,
                        help="test videos for the bf16 vs fp32 maps (default 3; 0: no bf16 comparison)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results = {}
    for frames_out in (1, args.frames_out):
        run = args.out / f"k{frames_out}"
        model = train(args.data, run, frames_out, args.steps, args.seed)
        results[frames_out] = predict_and_evaluate(args.data, model, run)
        if args.bf16_videos > 0:
            results[frames_out]["bf16"] = bf16_agreement(args.data, model, args.bf16_videos)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    metrics = ("CC", "NSS", "AUC-J", "SIM", "sAUC", "KLD")
    print("\n| model | " + " | ".join(metrics) + " | `diffsal predict` frames/s (1 thread) | "
          "bf16 vs fp32 map CC, mean (min) | frames compared |")
    print("|---|" + "---:|" * (len(metrics) + 3))
    for frames_out, result in results.items():
        scores = result["scores"]
        bf16 = result.get("bf16")
        agreement = f"{bf16['mean_cc']:.4f} ({bf16['min_cc']:.4f}) | {bf16['frames']}" if bf16 else "- | -"
        print(f"| tiny, K = {frames_out}, seed {args.seed} | " + " | ".join(f"{scores[name]:.3f}" for name in metrics)
              + f" | {result['frames'] / result['predict_s']:.1f} | {agreement} |")
    one, many = results[1]["scores"]["CC"], results[args.frames_out]["scores"]["CC"]
    print(f"\nCC: K = {args.frames_out} minus K = 1: {many - one:+.3f}")


if __name__ == "__main__":
    main()
