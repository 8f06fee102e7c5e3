"""`diffsal ablate STUDY`: the ablations of docs/results.md on the synthetic benchmark, several seeds per row."""

from __future__ import annotations

import argparse
from pathlib import Path
from diffsal.cli._arguments import positive_float, positive_int, seed, thread_count


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ablate",
        help="ablations on the synthetic benchmark: modality, fusion (MIM vs concatenation), sampling (DDIM steps x samples)",
        description="Trains every variant of the study for each seed on the same synthetic data and budget, predicts "
                    "and scores the split-1 test videos, and writes OUT/STUDY.md (mean ± half the range over seeds) "
                    "and OUT/STUDY.json. Rerunning reuses finished trainings, predictions and scores.",
    )
    parser.add_argument("study", help="modality, fusion or sampling")
    parser.add_argument("--out", type=Path, default=Path("runs/ablations"), help="output folder (default runs/ablations)")
    parser.add_argument("--recipe", type=Path, default=Path("configs/synthetic_tiny.yaml"),
                        help="training recipe (default configs/synthetic_tiny.yaml)")
    parser.add_argument("--seeds", type=seed, nargs="+", default=[0, 1], help="training seeds (default 0 1)")
    parser.add_argument("--videos", type=positive_int, default=50, help="synthetic videos (default 50: 40 train / 10 test)")
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="length of each synthetic video (default 8)")
    parser.add_argument("--data-seed", type=seed, default=0, help="seed of the synthetic data (default 0)")
    parser.add_argument("--train-steps", type=positive_int, help="optimizer steps (default: the recipe's)")
    parser.add_argument("--threads", type=thread_count, default=1, help="torch threads for prediction (default 1)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from diffsal.demo.ablations import AblationSettings, run_ablation

    run_ablation(AblationSettings(study=args.study, out_dir=args.out, recipe=args.recipe, seeds=tuple(args.seeds),
                                  videos=args.videos, seconds=args.seconds, data_seed=args.data_seed,
                                  train_steps=args.train_steps, threads=args.threads))
    return 0
