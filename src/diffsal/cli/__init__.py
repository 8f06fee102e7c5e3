"""The `diffsal` command line. Each subcommand lives in its own module of this package.

A subcommand module defines ``register(subparsers)`` which adds its parser and sets
``handler=<function(args) -> int>``. Modules are discovered, so adding a command is adding a file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback

from diffsal import __version__
from diffsal.errors import DiffSalError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diffsal",
        description="Audio-visual video saliency prediction with diffusion (DiffSal).",
    )
    parser.add_argument("--version", action="version", version=f"diffsal {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except DiffSalError as error:
        if args.debug:
            traceback.print_exc()
        print(f"diffsal {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"diffsal {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the CLI's last line of defence: one line unless --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"diffsal {args.command}: internal error: {type(error).__name__}: {error} "
                  "(run with --debug for the traceback)", file=sys.stderr)
        return 1
