"""`diffsal train --config RECIPE.yaml [key=value ...]`: train or fine-tune; same command under torchrun."""

from __future__ import annotations

import argparse

from diffsal.cli._arguments import add_device


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model from a YAML recipe (torchrun --nproc_per_node=N -m diffsal train ... for DDP)",
        description="Train from a recipe in configs/. Overrides like train.max_steps=100 or out_dir=runs/x "
                    "change single keys. Under torchrun the same command runs DistributedDataParallel.",
    )
    parser.add_argument("--config", help="recipe YAML (see configs/)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="override recipe keys, e.g. optim.lr=3e-4")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    parser.add_argument("--overwrite", action="store_true",
                        help="start again in a run folder that holds a run (deletes its checkpoints and log)")
    add_device(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from diffsal.training.trainer import train_recipe

    result = train_recipe(args.config, args.overrides, resume=args.resume, overwrite=args.overwrite,
                          device=args.device)
    for line in result.summary_lines():
        print(line)
    return 0
