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


non_negative_float = _number(float, lambda value: value >= 0, ">= 0")
positive_float = _number(float, lambda value: value > 0, "> 0")
fraction = _number(float, lambda value: 0 <= value < 1, "in [0, 1)")
non_negative_int = _number(int, lambda value: value >= 0, ">= 0")
positive_int = _number(int, lambda value: value >= 1, ">= 1")
