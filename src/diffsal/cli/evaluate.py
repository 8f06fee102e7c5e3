"""`diffsal evaluate DATA PREDICTIONS`: score predicted maps with the STAViS protocol (or strict, or the challenges'
scoring script), in Python."""

from __future__ import annotations

import argparse
import sys

from diffsal.evaluation import CENTER_PRIOR, NAMING_PRESETS, SAUC_VARIANTS, EvaluationSettings, markdown_table, notes
from diffsal.evaluation.other_maps import DEFAULT_OTHER_VIDEOS
from diffsal.data.layout import is_challenge_root
from diffsal.evaluation.layouts import LAYOUTS
from diffsal.evaluation.protocol import PROTOCOLS
from diffsal.evaluation.score import DatasetSelection, result_paths, score
from diffsal.metrics import METRIC_NAMES, PostProcess, parse_metric_names
from diffsal.cli._arguments import (DeprecatedAlias, add_databases, add_out, add_quiet, add_seed, add_split,
                                    blur_sigma, positive_int, thread_count)

MISSING_SHOWN = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score predicted saliency maps against a benchmark (CC, NSS, SIM, KLD, AUCs, IG)",
        description="Score predicted maps against a STAViS, DHF1K or challenge (AIM 2024 / NTIRE 2026) dataset with "
                    "the STAViS protocol (strict, or on a challenge root the challenges' own scoring). Prints a "
                    "Markdown table; writes metrics.json and per_video.csv.")
    parser.add_argument("data", help="dataset root (annotations/ + fold_lists/; DHF1K: annotation/ or the "
                        "extracted <NNNN>/maps/, also under train/ val/ test/; challenge: Videos/ + "
                        "TrainTestSplit.json)")
    parser.add_argument("predictions", help=f"folder of predicted maps, or '{CENTER_PRIOR}' for the baseline")
    add_out(parser, "metrics.json and per_video.csv", default="evaluation")
    parser.add_argument("--pattern", default=None,
                        help="prediction file names relative to PREDICTIONS: a preset "
                             f"({', '.join(f'{name}={pattern}' for name, pattern in NAMING_PRESETS.items())}) "
                             "or a format string with {db} {db_lower} {db_stavis} {video} {key} {frame} {split} (without "
                             "{frame}: one map video per input); default: the format `diffsal predict` wrote there, "
                             "else 'default'")
    parser.add_argument("--layout", default="auto", choices=("auto", *LAYOUTS))
    add_databases(parser, "STAViS databases (default: all under annotations/)")
    add_split(parser, "all pools them, as STAViS does. The defaults score what `diffsal predict DATA` predicts")
    parser.add_argument("--part", choices=("val", "train", "test", "all", "public_test", "private_test"),
                        help="DHF1K: val (default, videos 601-700), train (1-600), test (701-1000, if annotated) "
                             "or all, as in `diffsal predict --part`; challenge: public_test (default), "
                             "private_test, test or train")
    parser.add_argument("--protocol", choices=tuple(PROTOCOLS),
                        help="stavis (default): the STAViS MATLAB evaluation rule for rule, comparable with "
                             "published tables; strict: only frames with fixations, every metric defined on them; "
                             "challenge (default on a challenge root): the AIM 2024 / NTIRE 2026 bench.py rule for "
                             "rule, PREDICTIONS a submission folder (<video>.mp4 per video); stavis or strict on a "
                             "challenge root: every metric, frame k paired with the k-th fixation list")
    parser.add_argument("--metrics", default=",".join(METRIC_NAMES),
                        help=f"comma-separated subset of {','.join(METRIC_NAMES)} (default: all)")
    parser.add_argument("--sauc-other", default="same-video", choices=SAUC_VARIANTS,
                        help="where sAUC negatives come from (default: same-video, as STAViS)")
    parser.add_argument("--other-videos", type=positive_int, default=DEFAULT_OTHER_VIDEOS,
                        help=f"N for --sauc-other other-videos (default {DEFAULT_OTHER_VIDEOS})")
    parser.add_argument("--auc-splits", type=positive_int, default=100, help="random splits of AUC-Borji and sAUC (default 100)")
    add_seed(parser, "the AUC jitter and splits")
    parser.add_argument("--no-min-max", action="store_true", help="skip min-max normalisation of predictions")
    parser.add_argument("--blur-sigma", type=blur_sigma, default=2.0,
                        help="Gaussian blur sigma in prediction pixels, 0 to skip (default 2)")
    parser.add_argument("--no-resize", action="store_true",
                        help="do not resize predictions to the ground-truth size (a size mismatch is then an error)")
    parser.add_argument("--require-all-frames", action="store_true",
                        help="a missing prediction file is an error (default: counted, and the frame is not scored)")
    parser.add_argument("--threads", type=thread_count, default=2, metavar="N",
                        help="CPU threads: videos scored at once (default 2; 1 is fastest on a busy machine)")
    parser.add_argument("--workers", dest="threads", type=thread_count, action=DeprecatedAlias, new="--threads",
                        help=argparse.SUPPRESS)
    add_quiet(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    metrics = parse_metric_names(args.metrics)
    protocol = PROTOCOLS[args.protocol or ("challenge" if is_challenge_root(args.data) else "stavis")]
    postprocess = PostProcess(clip=protocol.clip_prediction, min_max=not args.no_min_max,
                              blur_sigma_px=args.blur_sigma, resize=not args.no_resize)
    settings = EvaluationSettings(metrics=metrics, protocol=protocol, sauc_variant=args.sauc_other,
                                  other_videos=args.other_videos, n_splits=args.auc_splits, seed=args.seed,
                                  postprocess=postprocess, require_all_frames=args.require_all_frames,
                                  workers=args.threads)
    selection = DatasetSelection(layout=args.layout, databases=args.db, split=args.split, part=args.part)
    result = score(args.data, args.predictions, args.out, pattern=args.pattern, selection=selection,
                   settings=settings, progress=None if args.quiet else _progress(),
                   say=lambda text: print(text, file=sys.stderr))
    json_path, csv_path = result_paths(args.out)
    print(markdown_table(result))
    print()
    print(notes(result))
    inconsistent = result.inconsistent_drops
    if inconsistent:
        counts = ", ".join(f"{name} {count}" for name, count in inconsistent.items())
        print(f"diffsal evaluate: warning: metrics scored different frames; frames dropped by one metric that "
              f"another scored: {counts} (reasons per metric and video in {json_path})", file=sys.stderr)
    missing = result.missing
    if missing:
        shown = ", ".join(missing[:MISSING_SHOWN]) + (" ..." if len(missing) > MISSING_SHOWN else "")
        print(f"diffsal evaluate: warning: {len(missing)} prediction frame(s) missing and not scored "
              f"(all listed in {json_path}): {shown}", file=sys.stderr)
    print(f"wrote {json_path} and {csv_path}", file=sys.stderr)
    return 0


def _progress():
    """A callback printing 'scored k/total videos' on an interactive stderr (nothing when redirected)."""
    if not sys.stderr.isatty():
        return None

    def report(done: int, total: int, video) -> None:
        print(f"\rscored {done}/{total} videos ({video.database}/{video.video})\033[K", end="", file=sys.stderr,
              flush=True)
        if done == total:
            print(file=sys.stderr)

    return report
