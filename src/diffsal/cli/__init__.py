"""The `diffsal` command line. Each subcommand lives in its own module of this package.

A subcommand module defines ``register(subparsers)`` which adds its parser and sets
``handler=<function(args) -> int>``. Modules are discovered, so adding a command is adding a file.
Only the module of the command being run is imported (a command's dependencies, torch included,
are not paid by the others); help without a command imports them all.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import pkgutil
import sys
import traceback

from diffsal import __version__
from diffsal.cli._arguments import OneLineParser
from diffsal.errors import DiffSalError

# The machine, not the program, is at fault: said in one line with exit code 2, like bad input.
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG,
                      errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EMFILE}


def command_names() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def build_parser(commands: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser with the subcommands `commands` (default: all of them)."""
    parser = OneLineParser(
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
    args, unparsed = parser.parse_known_args(argv)
    if unparsed and isinstance(getattr(args, "overrides", None), list) and all(
            "=" in item and not item.startswith("-") for item in unparsed):
        args.overrides += unparsed  # KEY=VALUE after an option that takes a value: argparse stops collecting there
    elif unparsed:
        parser.error(f"unrecognized arguments: {' '.join(unparsed)}")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except DiffSalError as error:
        return _report(args, str(error), error.exit_code)
    except OSError as error:
        if error.errno in ENVIRONMENT_ERRNOS:
            where = f"{error.filename}: " if error.filename else ""
            return _report(args, f"{where}{error.strerror or error}", 2)
        return _report_internal(args, error)
    except KeyboardInterrupt:
        print(f"diffsal {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the CLI's last line of defence: one line unless --debug
        return _report_internal(args, error)


def _report(args: argparse.Namespace, message: str, exit_code: int) -> int:
    if args.debug:
        traceback.print_exc()
    print(f"diffsal {args.command}: error: {message}", file=sys.stderr)
    return exit_code


def _report_internal(args: argparse.Namespace, error: Exception) -> int:
    if args.debug:
        traceback.print_exc()
    else:
        print(f"diffsal {args.command}: internal error: {type(error).__name__}: {error} "
              "(run with --debug for the traceback)", file=sys.stderr)
    return 1
