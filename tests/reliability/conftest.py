"""The reliability suite: every bad input gets one line naming the problem and exit code 2.

Each test builds its own bad input, runs the command in this process (output captured at the file
descriptors, so DataLoader workers and FFmpeg are captured too) and asserts the exit code, the message
and what is left on disk.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/media.py

from diffsal.cli import main  # noqa: E402


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@pytest.fixture
def cli(capfd):
    """`cli("predict", "x", ...)` runs the command and returns its exit code and output."""

    def run(*argv: str) -> Outcome:
        capfd.readouterr()
        try:
            exit_code = main([str(argument) for argument in argv])
        except SystemExit as exited:  # argparse
            exit_code = exited.code if isinstance(exited.code, int) else 2
        captured = capfd.readouterr()
        return Outcome(exit_code, captured.out, captured.err)

    return run


def assert_rejected(outcome: Outcome, *fragments: str, exit_code: int = 2) -> str:
    """The command failed with `exit_code` and one stderr line (no traceback) that contains every fragment."""
    assert outcome.exit_code == exit_code, (outcome.exit_code, outcome.stderr)
    assert "Traceback" not in outcome.stderr, outcome.stderr
    errors = [line for line in outcome.error_lines if "error" in line]
    assert len(errors) == 1, outcome.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


@contextlib.contextmanager
def tiny_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` (a full disk on demand); skips the test where mounting is not allowed."""
    path.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                                                   capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("mounting a small tmpfs needs root and mount rights")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=False)  # detached even while a file is open


def folder_state(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root` (hidden ones too): relative path -> (content, modification time in ns)."""
    return {str(path.relative_to(root)): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="session")
def micro_model(tmp_path_factory) -> Path:
    """A saved audio-visual model of 4 frames at 32x64: predicts a short video in a second."""
    import torch

    from diffsal.models import DiffSal, DiffSalConfig

    data = DiffSalConfig.preset("tiny").to_dict()
    data.update(num_frames=4, height=32, width=64)
    torch.manual_seed(0)
    return DiffSal(DiffSalConfig.from_dict(data)).save_pretrained(tmp_path_factory.mktemp("micro") / "best")
