"""Figures of the demo and the studies: the training loss, and grids of frames beside their maps."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from diffsal.io.atomic import atomic_output  # noqa: E402


def plot_training_loss(log_path: Path, out_path: Path) -> None:
    """Training loss (and validation CC on a second axis) from a run's ``log.jsonl``."""
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    train = [(record["step"], record["loss"]) for record in records if record["kind"] == "train"]
    validation = [(record["step"], record["cc"]) for record in records if record["kind"] == "val"]
    figure, loss_axis = plt.subplots(figsize=(7, 3.5))
    if train:
        steps, losses = zip(*train)
        loss_axis.plot(steps, losses, color="tab:blue", linewidth=1, label="training loss (x0 MSE)")
    loss_axis.set_xlabel("optimizer step")
    loss_axis.set_ylabel("training loss")
    loss_axis.set_yscale("log")
    if validation:
        cc_axis = loss_axis.twinx()
        steps, ccs = zip(*validation)
        cc_axis.plot(steps, ccs, "o-", color="tab:orange", label="validation CC (held-out training videos)")
        cc_axis.set_ylabel("validation CC")
        cc_axis.set_ylim(0, 1)
        cc_axis.legend(loc="lower right", fontsize=8)
    loss_axis.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    _save(figure, out_path)


# (column title, row key, colour map or None for an RGB frame)
Column = tuple[str, str, str | None]
DEMO_COLUMNS: tuple[Column, ...] = (
    ("frame", "frame", None),
    ("ground truth", "truth", "inferno"),
    ("prediction (mean)", "prediction", "inferno"),
    ("uncertainty (std)", "uncertainty", "viridis"),
)


def plot_frame_grid(rows: list[dict], columns: tuple[Column, ...], out_path: Path) -> None:
    """One row per frame, one panel per column: e.g. frame | ground truth | prediction | uncertainty.

    Each row is a dict with ``title`` and, for every column, its key: an (H, W, 3) uint8 frame or an
    (H, W) float map.
    """
    figure, axes = plt.subplots(len(rows), len(columns), figsize=(3 * len(columns), 2.1 * len(rows)), squeeze=False)
    for row_axes, row in zip(axes, rows):
        for axis, (_, key, cmap) in zip(row_axes, columns):
            axis.imshow(row[key], cmap=cmap)
            axis.set_xticks([])
            axis.set_yticks([])
        row_axes[0].set_ylabel(row["title"], fontsize=8)
    for axis, (title, _, _) in zip(axes[0], columns):
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    _save(figure, out_path)


def _save(figure, out_path: Path) -> None:
    with atomic_output(out_path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
