"""`diffsal reframe VIDEO --model DIR | --maps DIR --aspect 9:16 [--out OUT.mp4]`: crop a video to another
aspect ratio along a smooth path that keeps what viewers look at (`diffsal.reframe`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diffsal.cli._arguments import (add_batch_size, add_device, add_quiet, add_seed, add_threads, positive_float,
                                    positive_int)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reframe", help="crop a video to another aspect ratio (9:16, 1:1, ...) along a smooth path that keeps the "
                        "salient content, cut by cut",
        description="Per frame the largest window of the target aspect ratio is placed where the saliency maps have "
                    "the most mass; each shot (cuts found in the frames) then gets one static window or an "
                    "L1-optimal smooth pan through those placements. Writes OUT.mp4 (H.264 + the sound as AAC), "
                    "OUT.crop_path.json (window per frame, shots) and, with --preview, OUT.preview.mp4. A rerun "
                    "with the same settings does nothing; an interrupted one is completed.")
    parser.add_argument("input", help="the video file to reframe")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="model folder: predict the maps first (into OUT.maps/, resumable)")
    source.add_argument("--maps", help="the output of `diffsal predict` for this video (its folder or the run's OUT)")
    parser.add_argument("--aspect", default="9:16", help="target aspect ratio W:H (default 9:16)")
    parser.add_argument("--zoom", type=positive_float, default=1.0,
                        help="1 (default) = the largest window of the aspect ratio that fits; 1.5 = 1/1.5 of its size")
    parser.add_argument("--motion", default="auto", choices=("auto", "static", "pan"),
                        help="static: one window per shot; pan: a smooth path; auto (default): static where it keeps "
                             "90 %% of the saliency the per-frame optimum keeps, else pan")
    parser.add_argument("--out", metavar="OUT.mp4", help="the reframed video (default: <input stem>_<W>x<H>.mp4 in "
                                                          "the current folder)")
    parser.add_argument("--preview", action="store_true",
                        help="also write OUT.preview.mp4: the input under its saliency overlay, the window drawn")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo a reframing made with other settings (never replaces a file diffsal did not write)")
    model = parser.add_argument_group("prediction (with --model)")
    model.add_argument("--steps", type=positive_int, help="DDIM steps (default: the model's)")
    add_seed(model, "the starting noise of the maps")
    add_batch_size(model, None, "clips per forward pass", "chosen for the device")
    add_device(model)
    add_threads(model)
    add_quiet(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from diffsal.inference.predictor import Predictor
    from diffsal.reframe.run import ReframeSettings, default_out, reframe

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    settings = ReframeSettings(args.aspect, args.zoom, args.motion, args.preview).checked()
    out = Path(args.out) if args.out else default_out(args.input, settings)
    predictor = None
    if args.model is not None:
        predictor = Predictor.from_pretrained(args.model, device=args.device, steps=args.steps, seed=args.seed,
                                              batch_size=args.batch_size)
    say = (lambda text: None) if args.quiet else (lambda text: print(f"diffsal reframe: {text}", file=sys.stderr))
    result = reframe(args.input, out, settings, maps=args.maps, predictor=predictor, overwrite=args.overwrite,
                     progress=not args.quiet, say=say)
    if not args.quiet:
        print(result.describe())
    return 0
