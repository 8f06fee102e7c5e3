"""`diffsal convert-published best.pth --out DIR`: a released DiffSal checkpoint -> a diffsal model folder."""

from __future__ import annotations

import argparse
import sys

from diffsal.cli._arguments import add_out
from diffsal.models.saved_model import CONFIG_NAME, WEIGHTS_NAME


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert-published",
        help="convert the authors' released best.pth into a model folder for predict/evaluate/train",
        description="Read a released DiffSal checkpoint (torch.load with weights_only=True: tensors only, nothing "
                    "is executed), rename its tensors onto diffsal's published-model modules, drop the ones the "
                    "network never uses and the optimizer state, and write model.safetensors + config.json.")
    parser.add_argument("checkpoint", help="the released best.pth (DHF1K visual-only or an audio-visual split)")
    add_out(parser, "the model folder to write (default: next to the checkpoint, <name>_diffsal)")
    parser.add_argument("--kind", choices=("av", "visual"),
                        help="which released model the file is (default: detected from its tensors)")
    parser.add_argument("--overwrite", action="store_true", help="replace a model already in --out")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from diffsal.models.published.convert import convert_checkpoint

    result = convert_checkpoint(args.checkpoint, args.out, kind=args.kind, overwrite=args.overwrite)
    size_mb = (result.out / WEIGHTS_NAME).stat().st_size / 1e6
    print(f"{args.checkpoint}: published {result.report.kind} model; {result.report.summary()}", file=sys.stderr)
    print(f"wrote {result.out} ({WEIGHTS_NAME} {size_mb:.0f} MB, {CONFIG_NAME} architecture "
          f"{result.model.architecture})")
    return 0
