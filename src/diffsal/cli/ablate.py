"""`diffsal ablate STUDY`: the studies of docs/results.md on the synthetic benchmark, several seeds per row."""

from __future__ import annotations

import argparse
from pathlib import Path
from diffsal.cli._arguments import MAX_COUNT, _number, positive_float, positive_int, seed, thread_count

video_count = _number(int, lambda value: 0 <= value <= MAX_COUNT, f"in [0, {MAX_COUNT}]")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ablate",
        help="studies on the synthetic benchmark: modality, fusion (MIM vs concatenation), sampling (DDIM steps x "
             "samples), accuracy-at-speed (K maps per clip vs 1, bf16 vs fp32), reframing (9:16 windows that keep the "
             "sounding object)",
        description="Trains every variant of the study for each seed on the same synthetic data and budget, predicts "
                    "and scores the split-1 test videos, and writes OUT/STUDY.md (mean ± half the range over seeds) "
                    "and OUT/STUDY.json. Rerunning reuses finished trainings, predictions and scores.",
    )
    parser.add_argument("study", help="modality, fusion, sampling, accuracy-at-speed or reframing")
    parser.add_argument("--out", type=Path, default=Path("runs/ablations"), help="output folder (default runs/ablations)")
    parser.add_argument("--recipe", type=Path, default=Path("configs/synthetic_tiny.yaml"),
                        help="training recipe (default configs/synthetic_tiny.yaml)")
    parser.add_argument("--seeds", type=seed, nargs="+", default=[0, 1], help="training seeds (default 0 1)")
    parser.add_argument("--videos", type=positive_int, default=50, help="synthetic videos (default 50: 40 train / 10 test)")
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="length of each synthetic video (default 8)")
    parser.add_argument("--data-seed", type=seed, default=0, help="seed of the synthetic data (default 0)")
    parser.add_argument("--train-steps", type=positive_int, help="optimizer steps (default: the recipe's)")
    parser.add_argument("--threads", type=thread_count, default=1, help="torch threads for prediction (default 1)")
    speed = parser.add_argument_group("accuracy-at-speed")
    speed.add_argument("--frames-out", type=positive_int, nargs="+", default=[8],
                       help="K of the multi-frame models, each compared with K = 1 (default 8)")
    speed.add_argument("--clip-frames", type=positive_int,
                       help="frames per clip of every model of the study (default: the recipe's, 8 for tiny)")
    speed.add_argument("--bf16-videos", type=video_count, default=3,
                       help="test videos of the bf16 vs fp32 map comparison (default 3; 0: none)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from diffsal.experiments import StudySettings, run_study

    run_study(StudySettings(study=args.study, out_dir=args.out, recipe=args.recipe, seeds=tuple(args.seeds),
                            videos=args.videos, seconds=args.seconds, data_seed=args.data_seed,
                            train_steps=args.train_steps, threads=args.threads, frames_out=tuple(args.frames_out),
                            clip_frames=args.clip_frames, bf16_videos=args.bf16_videos))
    return 0
