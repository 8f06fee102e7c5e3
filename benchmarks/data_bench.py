"""Synthetic-benchmark generation time and DataLoader throughput of AVSaliencyDataset.

    python benchmarks/data_bench.py [--videos 8] [--workers 2] [--batches 12]

1. Times `diffsal synth`'s generator on the acceptance size (4 videos, 192x112, 25 fps, 8 s).
2. Generates (or reuses, under runs/bench/) a synthetic benchmark and reads 16x224x384 clips
   through a torch DataLoader (default collate, `--workers` processes, batch 4) in two patterns:
   shuffled sparse training clips and in-order dense test clips. Prints clips/s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch.utils.data import DataLoader

from diffsal.data import AVSaliencyDataset
from diffsal.models.preprocessing import diffsal_preprocessing
from diffsal.synth import SynthConfig, generate_benchmark


def time_generation() -> float:
    folder = Path(tempfile.mkdtemp(prefix="synth_bench_"))
    try:
        started = time.perf_counter()
        generate_benchmark(folder, SynthConfig(num_videos=4, seed=0, width=192, height=112, fps=25.0, seconds=8.0))
        return time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def loader_rate(dataset: AVSaliencyDataset, workers: int, batches: int, shuffle: bool) -> tuple[float, int]:
    """Clips per second over `batches` batches after one warm-up batch (worker start-up excluded)."""
    loader = DataLoader(dataset, batch_size=4, shuffle=shuffle, num_workers=workers,
                        generator=torch.Generator().manual_seed(0), persistent_workers=False)
    iterator = iter(loader)
    next(iterator)
    clips = 0
    started = time.perf_counter()
    for _ in range(batches):
        try:
            batch = next(iterator)
        except StopIteration:
            break
        clips += batch["frames"].shape[0]
    return clips / (time.perf_counter() - started), clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=8, help="videos of the benchmark read by the loader")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=12, help="timed batches of 4 clips per pattern")
    parser.add_argument("--root", default="runs/bench/synthetic", help="where the read benchmark is generated/cached")
    args = parser.parse_args()

    rows = [("generate 4 videos 192x112, 25 fps, 8 s", f"{time_generation():.1f} s", "acceptance: < 30 s")]
    root = Path(args.root)
    config = SynthConfig(num_videos=args.videos, seed=0)
    if not (root / "fold_lists" / "Synthetic_list_test_1_fps.txt").is_file():
        generate_benchmark(root, config)
    common = dict(clip_length=16, preprocessing=diffsal_preprocessing((224, 384)), validation_fraction=0.0)
    train = AVSaliencyDataset(root, "Synthetic", 1, "train", stride=8, **common)
    test = AVSaliencyDataset(root, "Synthetic", 1, "test", **common)
    for name, dataset, shuffle in (("train, shuffled sparse clips", train, True), ("test, in-order dense clips", test, False)):
        rate, clips = loader_rate(dataset, args.workers, args.batches, shuffle)
        rows.append((f"DataLoader {name}", f"{rate:.1f} clips/s", f"{args.workers} workers, batch 4, {clips} clips timed"))

    table = Table(title="data pipeline")
    for column in ("operation", "result", "note"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
