"""The demo end to end at a toy size: every output exists and the report states the scores."""

import json
import re

import av
import pytest

from diffsal.cli import main


def test_demo_writes_report_figures_overlay_and_scores(tmp_path, capsys):
    out = tmp_path / "demo"
    arguments = ["demo", "--out", str(out), "--videos", "4", "--seconds", "2", "--train-steps", "4"]
    assert main(arguments) == 0
    report = (out / "report.md").read_text()
    for row in ("| DiffSal tiny (audio-visual) |", "| centre prior |"):
        assert row in report
    model_scores = json.loads((out / "evaluation" / "metrics.json").read_text())["databases"]["Synthetic"]["scores"]
    cc_cell = re.search(r"\| DiffSal tiny \(audio-visual\) \| ([-0-9.]+) \|", report).group(1)
    assert float(cc_cell) == pytest.approx(model_scores["CC"], abs=5e-4)
    assert (out / "frames.png").stat().st_size > 10_000 and (out / "training_loss.png").stat().st_size > 5_000
    overlays = list((out / "showcase").glob("*/overlay.mp4"))
    assert len(overlays) == 1
    with av.open(str(overlays[0])) as container:
        assert container.streams.video and container.streams.audio
    assert list((out / "showcase").glob("*/uncertainty/00001.png"))

    # A rerun reuses the data, the finished training and the complete predictions.
    assert main(arguments) == 0
    assert "reusing" in capsys.readouterr().err


def test_demo_without_recipe_is_a_clear_error(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--recipe", str(tmp_path / "absent.yaml")]) == 2
    assert "recipe not found" in capsys.readouterr().err
