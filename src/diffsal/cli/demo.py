"""`diffsal demo`: synthetic benchmark -> tiny audio-visual model -> scores vs centre prior -> report.md."""

from __future__ import annotations

import argparse
from pathlib import Path
from diffsal.cli._arguments import positive_float, positive_int, seed


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the whole path in minutes on a CPU: generate data, train, evaluate, predict a video, write a report",
        description="Generates the synthetic audio-visual benchmark, trains the tiny preset, scores it against the "
                    "centre prior on the held-out test split, predicts one test video (overlay with sound, "
                    "uncertainty), and writes OUT/report.md. Rerunning reuses what is complete.",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")
    parser.add_argument("--recipe", type=Path, default=Path("configs/synthetic_tiny.yaml"),
                        help="training recipe (default configs/synthetic_tiny.yaml)")
    parser.add_argument("--videos", type=positive_int, default=50, help="synthetic videos (default 50: 40 train / 10 test)")
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="length of each synthetic video (default 8)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of data, training and sampling (default 0)")
    parser.add_argument("--train-steps", type=positive_int, help="optimizer steps (default: the recipe's)")
    parser.add_argument("--sampling-steps", type=positive_int, help="DDIM steps for predictions (default: the model's)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from diffsal.demo import DemoSettings, run_demo

    run_demo(DemoSettings(out_dir=args.out, recipe=args.recipe, videos=args.videos, seconds=args.seconds, seed=args.seed,
                          train_steps=args.train_steps, sampling_steps=args.sampling_steps))
    return 0
