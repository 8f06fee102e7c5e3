"""Argument types shared by every command: numbers are checked when parsed, before any work starts.

argparse turns the `ArgumentTypeError` of a type function into one line and exit code 2, so
``--eta nan`` or ``--batch-size 0`` never reaches the code that would misuse it.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable


class OneLineParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line on stderr (no usage block) with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind: type, check: Callable[[float], bool], requirement: str) -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if not check(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value

    parse.__name__ = f"{kind.__name__} {requirement}"
    return parse


# Upper bounds keep absurd values (a 10^20 batch, 10^11 AUC splits) from failing deep inside torch or numpy.
MAX_SEED = 2**63 - 1
MAX_COUNT = 1_000_000

non_negative_float = _number(float, lambda value: value >= 0, ">= 0")
blur_sigma = _number(float, lambda value: 0 <= value <= 1000, "in [0, 1000] pixels")
positive_float = _number(float, lambda value: 0 < value <= MAX_COUNT, f"in (0, {MAX_COUNT}]")
fraction = _number(float, lambda value: 0 <= value < 1, "in [0, 1)")
seed = _number(int, lambda value: 0 <= value <= MAX_SEED, f"in [0, {MAX_SEED}]")
positive_int = _number(int, lambda value: 1 <= value <= MAX_COUNT, f"in [1, {MAX_COUNT}]")
thread_count = _number(int, lambda value: 1 <= value <= 1024, "in [1, 1024]")


# ---------------------------------------------------------------------- the shared vocabulary
# One flag, one meaning, one help text in every command that has the concept (README.md, "Changes").

def device_spec(text: str) -> str:
    """argparse type of --device: auto, cpu, cuda or cuda:N (whether the GPU is there is checked when used)."""
    from diffsal.errors import InputError
    from diffsal.runtime import check_device_spec

    try:
        return check_device_spec(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def warn_deprecated(old: str, new: str) -> None:
    print(f"diffsal: note: {old} is deprecated and will be removed in the next release; use {new}",
          file=sys.stderr)


class DeprecatedAlias(argparse.Action):
    """An old flag spelling: stores into the new flag's dest (through `convert`) and prints a one-line note."""

    def __init__(self, option_strings, dest, new: str, convert: Callable[[str], object] | None = None, **kwargs):
        self.new = new
        self.convert = convert
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warn_deprecated(option_string, self.new)
        try:
            setattr(namespace, self.dest, self.convert(values) if self.convert else values)
        except argparse.ArgumentTypeError as error:
            raise argparse.ArgumentError(self, str(error)) from None


def _comma_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("names no database")
    return names


def add_databases(parser: argparse.ArgumentParser, help: str, *, required: bool = False) -> None:
    """--db NAME [NAME ...] (dest `db`, a list or None); --datasets A,B is its deprecated alias."""
    parser.add_argument("--db", nargs="+", metavar="NAME", required=required, default=None, help=help)
    parser.add_argument("--datasets", dest="db", action=DeprecatedAlias, new="--db NAME [NAME ...]",
                        convert=_comma_list, help=argparse.SUPPRESS)


def add_database_name(parser: argparse.ArgumentParser, default: str, what: str) -> None:
    """--db NAME of a database that a command writes (one name)."""
    parser.add_argument("--db", default=default, metavar="NAME", help=f"database name {what} (default {default})")


def add_out(parser: argparse.ArgumentParser, what: str, *, default: str | None = None, required: bool = False) -> None:
    """--out DIR: the folder a command writes."""
    suffix = f" (default: {default})" if default is not None else ""
    parser.add_argument("--out", metavar="DIR", default=default, required=required, help=f"output folder: {what}{suffix}")


def add_batch_size(parser: argparse.ArgumentParser, default: int | None, what: str,
                   default_text: str | None = None) -> None:
    """--batch-size N (dest `batch_size`); --batch is its deprecated alias."""
    parser.add_argument("--batch-size", type=positive_int, default=default, metavar="N",
                        help=f"batch size: {what} (default {default_text or default})")
    parser.add_argument("--batch", dest="batch_size", type=positive_int, action=DeprecatedAlias, new="--batch-size",
                        help=argparse.SUPPRESS)


SPLIT_HELP = "STAViS split: 1 (default), 2, 3 or all (the test lists of splits 1-3)"


def add_split(parser: argparse.ArgumentParser, extra: str = "") -> None:
    """--split: the STAViS fold split, default split 1 (dest `split`, None when not given)."""
    parser.add_argument("--split", default=None, metavar="SPLIT", help=SPLIT_HELP + (f"; {extra}" if extra else ""))


def add_device(parser: argparse.ArgumentParser) -> None:
    from diffsal.runtime import DEVICE_HELP

    parser.add_argument("--device", type=device_spec, default="auto", metavar="DEVICE", help=DEVICE_HELP)


def add_threads(parser: argparse.ArgumentParser, what: str = "torch's CPU threads", default: int | None = None) -> None:
    shown = "torch's choice" if default is None else str(default)
    parser.add_argument("--threads", type=thread_count, default=default, metavar="N",
                        help=f"CPU threads: {what} (default {shown}; 1 is fastest on a busy machine)")


def add_seed(parser: argparse.ArgumentParser, what: str, default: int = 0) -> None:
    parser.add_argument("--seed", type=seed, default=default, metavar="S", help=f"random seed: {what} (default {default})")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress output (warnings and errors are still printed)")
