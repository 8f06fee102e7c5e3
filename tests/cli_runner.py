"""Run a `diffsal` command in this process and return its exit code (argparse errors included)."""

from __future__ import annotations

from pathlib import Path

from diffsal.cli import main


def run(*args: str | Path) -> int:
    try:
        return main([*map(str, args)])
    except SystemExit as exited:  # argparse errors
        return exited.code
