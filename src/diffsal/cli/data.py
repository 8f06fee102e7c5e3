"""`diffsal data check ROOT` and `diffsal data list ROOT`: validate a dataset and show its clips."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table
from diffsal.cli._arguments import SPLIT_HELP, add_databases, fraction, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="validate a dataset root (STAViS or DHF1K layout) and list its clips")
    commands = parser.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)

    check = commands.add_parser(
        "check",
        help="list what is present and missing (fold lists, frames, wav, maps); exit 1 on problems",
        description="Check a STAViS-layout, DHF1K or challenge (AIM 2024 / NTIRE 2026) root. Every problem names "
        "its file; the exit status is 0 when there are none, 1 otherwise.",
    )
    check.add_argument("root", help="dataset root: STAViS (video_frames/, video_audio/, annotations/, fold_lists/) "
                       "or DHF1K (video/ + annotation/, or the extracted <NNNN>/{images,maps,fixation}/) "
                       "or the challenge layout (Videos/, TrainTestSplit.json, Saliency*/, Fixations*/)")
    add_databases(check, "databases to check (default: all found)")
    check.add_argument("--decode", action="store_true",
                       help="also decode every image, MAT and wav (slow); finds maps of another size within a "
                            "video and all-black maps of frames with fixations")
    check.add_argument("--no-annotations", action="store_true", help="maps are not required (prediction data)")
    check.add_argument("--audio-optional", action="store_true", help="a missing wav is not a problem")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=run_check)

    listing = commands.add_parser(
        "list",
        help="build the dataset for a split/part and count its videos and clips",
        description="Build AVSaliencyDataset as training/evaluation would and report its size; with "
        "--skip-bad, videos with problems are left out and listed instead of stopping.",
    )
    listing.add_argument("root")
    add_databases(listing, "databases (e.g. Synthetic, or AVAD DIEM ...)", required=True)
    listing.add_argument("--split", type=_one_split, default=1, metavar="SPLIT",
                         help=SPLIT_HELP.replace(" or all (the test lists of splits 1-3)", " or 3"))
    listing.add_argument("--part", choices=("train", "val", "test"), default="train")
    listing.add_argument("--stride", type=positive_int, default=74, help="training: one clip per this many frames (default 74)")
    listing.add_argument("--validation-fraction", type=fraction, default=0.1)
    listing.add_argument("--no-annotations", action="store_true")
    listing.add_argument("--audio", choices=("required", "optional", "none"), default="required")
    listing.add_argument("--skip-bad", action="store_true", help="leave out (and report) videos with problems")
    listing.set_defaults(handler=run_list)


def _one_split(text: str) -> int:
    if text.strip() not in ("1", "2", "3"):
        raise argparse.ArgumentTypeError(f"must be 1, 2 or 3, got {text!r}")
    return int(text)


def run_check(args: argparse.Namespace) -> int:
    from diffsal.data.check import check_dataset

    report = check_dataset(args.root, args.db, annotations=not args.no_annotations,
                           audio=not args.audio_optional, decode=args.decode)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0 if report.ok else 1
    console = Console()
    table = Table(title=f"{report.root}")
    for column in ("database", "lists", "videos", "frames", "wav", "eyeMaps", "fixMaps", "problems"):
        table.add_column(column)
    for database in report.databases:
        videos = database.videos
        table.add_row(
            database.name,
            str(len(database.fold_lists)),
            str(len(videos)),
            f"{sum(v.frames == v.num_frames for v in videos)}/{len(videos)}",
            "-" if any(v.wav is None for v in videos) else f"{sum(v.wav for v in videos)}/{len(videos)}",
            f"{sum(v.eye_maps == v.num_frames for v in videos)}/{len(videos)}",
            f"{sum(v.fix_maps == v.num_frames for v in videos)}/{len(videos)}",
            str(len(database.all_problems)),
        )
    console.print(table)
    for database in report.databases:
        for note in database.notes:
            print(f"note: {note}")
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"{len(report.problems)} problem(s)" if report.problems else "no problems")
    return 0 if report.ok else 1


def run_list(args: argparse.Namespace) -> int:
    import warnings

    from diffsal.data.av_dataset import AVSaliencyDataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped videos are printed below
        dataset = AVSaliencyDataset(
            args.root, args.db, args.split, args.part, validation_fraction=args.validation_fraction,
            stride=args.stride, annotations=not args.no_annotations, audio=args.audio, skip_bad=args.skip_bad,
        )
    for message in dataset.skipped:
        print(f"skipped: {message}", file=sys.stderr)
    print(f"{', '.join(args.db)} split {args.split} {args.part}: {len(dataset.records)} video(s), {len(dataset)} clip(s) "
          f"({dataset.sampling} sampling), {len(dataset.skipped)} problem(s) skipped")
    for record in dataset.records:
        print(f"  {record.dataset}/{record.video}: {record.num_frames} frames at {record.fps:g} fps"
              + ("" if record.audio else ", no audio"))
    return 0
