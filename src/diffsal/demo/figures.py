"""The demo's figures: the training loss, and frames | ground truth | prediction | uncertainty."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

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


def plot_frame_grid(rows: list[dict[str, np.ndarray]], out_path: Path) -> None:
    """One row per frame: the frame, the ground truth, the prediction, the uncertainty (per-pixel std).

    Each row is a dict with ``frame`` (H, W, 3) uint8, ``truth``, ``prediction`` and ``uncertainty``
    (H, W) float arrays, and ``title``.
    """
    columns = ("frame", "ground truth", "prediction (mean)", "uncertainty (std)")
    figure, axes = plt.subplots(len(rows), 4, figsize=(12, 2.1 * len(rows)), squeeze=False)
    for row_axes, row in zip(axes, rows):
        row_axes[0].imshow(row["frame"])
        row_axes[0].set_ylabel(row["title"], fontsize=8)
        row_axes[1].imshow(row["truth"], cmap="inferno")
        row_axes[2].imshow(row["prediction"], cmap="inferno")
        row_axes[3].imshow(row["uncertainty"], cmap="viridis")
        for axis in row_axes:
            axis.set_xticks([])
            axis.set_yticks([])
    for axis, title in zip(axes[0], columns):
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    _save(figure, out_path)


def _save(figure, out_path: Path) -> None:
    with atomic_output(out_path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
