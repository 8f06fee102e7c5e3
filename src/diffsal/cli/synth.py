"""`diffsal synth --out DIR`: generate the synthetic audio-visual saliency benchmark (docs/synthetic.md)."""

from __future__ import annotations

import argparse
import sys

from diffsal.errors import InputError
from diffsal.cli._arguments import (add_database_name, add_out, add_quiet, add_seed, fraction, positive_float,
                                    positive_int, seed, warn_deprecated)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="generate the synthetic audio-visual benchmark (STAViS layout + mp4s + fold lists)",
        description="Generate scenes where only the sound tells which object viewers look at. "
        "Deterministic from --seed; written in the STAViS layout under --out (database 'Synthetic').",
    )
    add_out(parser, "the dataset root (video_frames/, video_audio/, annotations/, fold_lists/, videos/, meta/)")
    parser.add_argument("legacy_out", nargs="?", metavar="OUT", help=argparse.SUPPRESS)  # deprecated positional
    parser.add_argument("--videos", type=positive_int, default=50, help="number of videos (default 50: 40 train / 10 test per split)")
    add_seed(parser, "pictures, observers and splits")
    parser.add_argument("--sound-seed", type=seed, default=None,
                        help="re-draw only who sounds when (same frames); default: --seed")
    parser.add_argument("--size", default="192x112", help="frame size WxH (default 192x112)")
    parser.add_argument("--fps", type=positive_float, default=25.0, help="frame rate (default 25)")
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="duration of each video (default 8)")
    parser.add_argument("--observers", type=positive_int, default=12, help="simulated viewers per video (default 12)")
    parser.add_argument("--objects", default="3,4", help="MIN,MAX coloured objects per scene (default 3,4; at most 6)")
    parser.add_argument("--test-fraction", type=fraction, default=0.2,
                        help="share of videos in each split's test list (default 0.2)")
    add_database_name(parser, "Synthetic", "to write")
    parser.add_argument("--layout", choices=("stavis", "challenge"), default="stavis",
                        help="stavis (default: frames, wavs, eyeMaps, fixMaps, fold lists, mp4s) or challenge (the "
                             "AIM 2024 / NTIRE 2026 layout: Videos/, 10-bit map videos, fixations.json, "
                             "TrainTestSplit.json)")
    add_quiet(parser)
    parser.set_defaults(handler=run)


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (W, H)."""
    width, separator, height = text.lower().partition("x")
    if not separator or not width.strip().isdigit() or not height.strip().isdigit():
        raise InputError(f"--size must be WxH, e.g. 192x112, got {text!r}")
    return int(width), int(height)


def parse_range(text: str) -> tuple[int, int]:
    parts = text.split(",")
    try:
        values = [int(part) for part in parts]
    except ValueError as error:
        raise InputError(f"--objects must be N or MIN,MAX, got {text!r}") from error
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise InputError(f"--objects must be N or MIN,MAX, got {text!r}")


def output_root(args: argparse.Namespace) -> str:
    """--out DIR, or the positional OUT of earlier releases (with a deprecation note)."""
    if args.legacy_out is not None:
        if args.out is not None:
            raise InputError(f"give the output folder once: --out {args.out} or {args.legacy_out}, not both")
        warn_deprecated("the positional OUT of `diffsal synth`", f"--out {args.legacy_out}")
        return args.legacy_out
    if args.out is None:
        raise InputError("--out DIR is required (the folder to write the benchmark to)")
    return args.out


def run(args: argparse.Namespace) -> int:
    from diffsal.synth import SynthConfig, generate_benchmark

    out = output_root(args)
    width, height = parse_size(args.size)
    config = SynthConfig(
        num_videos=args.videos,
        seed=args.seed,
        sound_seed=args.sound_seed,
        width=width,
        height=height,
        fps=args.fps,
        seconds=args.seconds,
        num_observers=args.observers,
        objects=parse_range(args.objects),
        test_fraction=args.test_fraction,
        database=args.db,
        layout=args.layout,
    )

    def progress(done: int, total: int, name: str) -> None:
        if not args.quiet:
            print(f"[{done}/{total}] {name}", file=sys.stderr, flush=True)

    summary = generate_benchmark(out, config, progress)
    train, test = summary.splits[1]
    where = (f"in the challenge layout: {len(train)} train / {len(test) - len(test) // 2} public_test / "
             f"{len(test) // 2} private_test" if config.layout == "challenge"
             else f"as database {config.database!r}; split 1: {len(train)} train / {len(test)} test")
    print(f"wrote {len(summary.videos)} videos of {config.num_frames} frames ({width}x{height}, {config.fps:g} fps) "
          f"to {summary.root} {where} in {summary.seconds:.1f} s")
    return 0
