"""The `diffsal` command line. Each subcommand lives in its own module of this package.

A subcommand module defines ``register(subparsers)`` which adds its parser and sets
``handler=<function(args) -> int>``. Modules are discovered, so adding a command is adding a file.
Only the module of the command being run is imported (a command's dependencies, torch included,
are not paid by the others); help without a command imports them all.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback

from diffsal import __version__
from diffsal.errors import DiffSalError


def command_names() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def build_parser(commands: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser with the subcommands `commands` (default: all of them)."""
    parser = argparse.ArgumentParser(
        prog="diffsal",
        description="Audio-visual video saliency prediction with diffusion (DiffSal).",
    )
    parser.add_argument("--version", action="version", version=f"diffsal {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_names() if commands is None else commands:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def _requested_commands(argv: list[str]) -> list[str] | None:
    """The one command named on the command line, [] for a bare --version, None when all are needed."""
    names = command_names()
    first = next((argument for argument in argv if not argument.startswith("-")), None)
    if first in names:
        return [first]
    if first is None and "--version" in argv and not {"-h", "--help"} & set(argv):
        return []
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_requested_commands(argv))
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
