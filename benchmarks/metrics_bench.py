"""Scoring speed: frames per second for all metrics at 360x640 ground truth (DHF1K size).

    .venv/bin/python benchmarks/metrics_bench.py [--frames 1000] [--threads 1 2]

Synthetic frames: 60 fixations in a few clusters, the ground-truth map their Gaussian blur,
a 224x384 prediction (the model's output size) for the rows with post-processing, and a
same-video sAUC other map of 30 frames' fixations. Ground-truth generation is not timed; reading
files is not timed (it is I/O, see docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.ndimage import gaussian_filter

from diffsal.runtime.memory import keep_freed_memory
from diffsal.evaluation.center_prior import center_prior
from diffsal.metrics import METRIC_NAMES, PostProcess, score_frame

GT_SHAPE = (360, 640)
PREDICTION_SHAPE = (224, 384)
DISTINCT = 16  # distinct synthetic frames, cycled


def make_frames(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(DISTINCT):
        centres = rng.uniform((40, 60), (GT_SHAPE[0] - 40, GT_SHAPE[1] - 60), size=(3, 2))
        points = centres[rng.integers(0, 3, 60)] + rng.normal(0, 25, size=(60, 2))
        points = np.clip(points, 0, np.array(GT_SHAPE) - 1).astype(int)
        fixations = np.zeros(GT_SHAPE, dtype=bool)
        fixations[points[:, 0], points[:, 1]] = True
        saliency = gaussian_filter(fixations.astype(np.float64), 20)
        saliency = np.round(saliency / saliency.max() * 255) / 255  # 8-bit like eyeMap JPEGs
        small = gaussian_filter(saliency, 8)[:: GT_SHAPE[0] // 45, :: GT_SHAPE[1] // 80]
        prediction = np.kron(small, np.ones((5, 5)))[: PREDICTION_SHAPE[0], : PREDICTION_SHAPE[1]]
        prediction = prediction + 0.05 * rng.random(prediction.shape)
        frames.append({"fixations": fixations, "saliency": saliency, "prediction": prediction})
    union = np.any([frame["fixations"] for frame in frames], axis=0)
    for frame in frames:
        frame["other"] = union & ~frame["fixations"]
        frame["postprocessed"] = PostProcess()(frame["prediction"], GT_SHAPE)
    return frames


def run(frames: list[dict], count: int, threads: int, postprocess: PostProcess | None,
        metrics: tuple[str, ...] = METRIC_NAMES) -> tuple[float, float]:
    """(frames per second of wall-clock time, CPU milliseconds per frame) over `count` frames."""
    baseline = center_prior(GT_SHAPE)

    def score(index: int) -> dict:
        frame = frames[index % len(frames)]
        prediction = frame["prediction"]
        if postprocess is None:
            prediction = frame["postprocessed"]  # done beforehand, outside the timing
        else:
            prediction = postprocess(prediction, GT_SHAPE)
        return score_frame(prediction, frame["saliency"], frame["fixations"], metrics=metrics,
                           other_map=frame["other"], baseline=baseline, rng=index)

    start = time.perf_counter()
    start_cpu = time.process_time()
    if threads == 1:
        for index in range(count):
            score(index)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(score, range(count), chunksize=8))
    return count / (time.perf_counter() - start), (time.process_time() - start_cpu) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--per-metric", action="store_true", help="also time each metric alone (1 thread)")
    parser.add_argument("--default-allocator", action="store_true",
                        help="leave glibc's mmap threshold alone (what a library caller gets)")
    args = parser.parse_args()
    allocator = "glibc defaults" if args.default_allocator or not keep_freed_memory() else "freed memory kept"
    frames = make_frames()
    run(frames, 20, 1, PostProcess())  # warm-up: resize matrices, allocator
    print(f"{args.frames} frames, ground truth {GT_SHAPE[0]}x{GT_SHAPE[1]}, prediction "
          f"{PREDICTION_SHAPE[0]}x{PREDICTION_SHAPE[1]}, {os.cpu_count()} CPUs, all metrics: {', '.join(METRIC_NAMES)}")
    print(f"allocator: {allocator}; load average before: {os.getloadavg()[0]:.2f} "
          "(other processes share the cores: CPU ms/frame is the figure that does not depend on them)")
    print()
    print("| scoring | threads | frames/s (wall) | CPU ms/frame |")
    print("|---|---:|---:|---:|")
    for label, postprocess in (("metrics only", None), ("post-process + metrics", PostProcess())):
        for threads in args.threads:
            fps, cpu_ms = run(frames, args.frames, threads, postprocess)
            print(f"| {label} | {threads} | {fps:.1f} | {cpu_ms:.1f} |", flush=True)
    if args.per_metric:
        print()
        print("| metric alone (1 thread) | CPU ms/frame |")
        print("|---|---:|")
        for metric in METRIC_NAMES:
            _, cpu_ms = run(frames, max(args.frames // 5, 20), 1, None, (metric,))
            print(f"| {metric} | {cpu_ms:.2f} |", flush=True)


if __name__ == "__main__":
    main()
