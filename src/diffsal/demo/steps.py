"""Steps shared by the demo and the ablations: run a `diffsal` command in-process, make the benchmark once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from diffsal.data.fold_lists import fold_list_path
from diffsal.errors import DiffSalError
from diffsal.synth.benchmark import DATABASE, SynthConfig, generate_benchmark

SPLIT = 1


class DemoError(DiffSalError):
    """A demo or ablation step failed; the message names the step."""


def run_command(arguments: list[str], what: str) -> None:
    """Run `diffsal ARGUMENTS` in this process (the same code as the command line); raise if it fails."""
    from diffsal.cli import main

    code = main(arguments)
    if code != 0:
        raise DemoError(f"{what} failed (exit code {code}): diffsal {' '.join(arguments)}")


def ensure_benchmark(data_root: Path, config: SynthConfig, say: Callable[[str], None]) -> None:
    """Generate the synthetic benchmark into `data_root` unless a complete one is already there."""
    if fold_list_path(data_root, DATABASE, "test", SPLIT).is_file():
        say(f"reusing {data_root}")
        return
    generate_benchmark(data_root, config, progress=lambda done, total, name: say(f"  [{done}/{total}] {name}"))
