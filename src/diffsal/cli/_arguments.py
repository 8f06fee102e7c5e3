"""Argument types shared by every command: numbers are checked when parsed, before any work starts.

argparse turns the `ArgumentTypeError` of a type function into one line and exit code 2, so
``--eta nan`` or ``--batch-size 0`` never reaches the code that would misuse it.
"""

from __future__ import annotations

import argparse
import math
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
