"""`diffsal ablate` (`diffsal.experiments`) at a toy size: tables agree with the per-seed scores, studies share
trained models, reruns reuse."""

import json
import re

import pytest

from diffsal.cli import main
from diffsal.experiments import StudySettings, run_study
from diffsal.experiments.common import mean_spread

TOY = ["--videos", "4", "--seconds", "1.2", "--train-steps", "2"]


def test_mean_spread_is_mean_and_half_range():
    assert mean_spread([0.5, 0.7, 0.6]) == "0.600 ± 0.100"
    assert mean_spread([0.25]) == "0.250"
    assert mean_spread([0.0121, 0.0125], decimals=4) == "0.0123 ± 0.0002"


@pytest.fixture(scope="module")
def modality(tmp_path_factory):
    out = tmp_path_factory.mktemp("ablations")
    assert main(["ablate", "modality", "--out", str(out), "--seeds", "0", "1", *TOY]) == 0
    return out


def test_modality_table_matches_the_per_seed_scores(modality):
    table = (modality / "modality.md").read_text()
    document = json.loads((modality / "modality.json").read_text())
    labels = [row["label"] for row in document["rows"]]
    assert labels == ["DiffSal tiny, audio-visual (MIM)", "DiffSal tiny, video-only", "centre prior"]
    for row in document["rows"][:2]:
        ccs = [row["per_seed"][seed]["CC"] for seed in ("0", "1")]
        line = next(line for line in table.splitlines() if line.startswith(f"| {row['label']} |"))
        mean, spread = map(float, re.search(r"\| ([-0-9.]+) ± ([0-9.]+) \|", line).groups())
        assert mean == pytest.approx(sum(ccs) / 2, abs=6e-4)
        assert spread == pytest.approx(abs(ccs[0] - ccs[1]) / 2, abs=6e-4)
        assert "model.overrides.use_audio=false" in row["train_command"] or row["label"].endswith("(MIM)")
    # The two seeds are different trainings, not one model scored twice.
    weights = [(modality / "train" / f"audio-visual-seed{seed}" / "checkpoints" / "best" / "model.safetensors").read_bytes()
               for seed in (0, 1)]
    assert weights[0] != weights[1]
    assert (modality / "modality.png").stat().st_size > 10_000


def test_sampling_reuses_the_trained_models_and_times_each_row(modality, capsys):
    best = modality / "train" / "audio-visual-seed0" / "checkpoints" / "best"
    before = best.resolve().stat().st_mtime_ns
    run_study(StudySettings(study="sampling", out_dir=modality, seeds=(0,), videos=4, seconds=1.2,
                            train_steps=2, steps=(1, 2), samples=(1, 2)))
    assert best.resolve().stat().st_mtime_ns == before  # not trained again
    rows = json.loads((modality / "sampling.json").read_text())["rows"]
    assert [row["label"] for row in rows] == ["1 DDIM step, 1 sample", "2 DDIM steps, 1 sample",
                                              "1 DDIM step, 2 samples", "2 DDIM steps, 2 samples"]
    assert all(row["per_seed"]["0"]["s_per_frame"] > 0 for row in rows)
    assert "s/frame" in (modality / "sampling.md").read_text()


def test_unknown_study_is_a_clear_error(tmp_path, capsys):
    assert main(["ablate", "colour", "--out", str(tmp_path)]) == 2
    assert "unknown study 'colour'" in capsys.readouterr().err


def test_accuracy_at_speed_compares_k_and_precisions(modality):
    run_study(StudySettings(study="accuracy-at-speed", out_dir=modality, seeds=(0,), videos=4, seconds=1.2,
                            train_steps=2, frames_out=(2, 4), clip_frames=4, bf16_videos=1))
    document = json.loads((modality / "accuracy-at-speed.json").read_text())
    assert document["frames_out"] == [2, 4] and document["clip_frames"] == 4
    rows = document["rows"]
    assert [row["label"] for row in rows] == [f"DiffSal tiny, 4-frame clips, K = {k}" for k in (1, 2, 4)]
    assert all("model.overrides.num_frames=4" in row["train_command"] for row in rows)
    assert "model.overrides.frames_out=2" in rows[1]["train_command"]
    config = json.loads((modality / "train" / "k4-clip4-seed0" / "checkpoints" / "best" / "config.json").read_text())
    assert (config["config"]["num_frames"], config["config"]["frames_out"]) == (4, 4)
    for row in rows:
        scores = row["per_seed"]["0"]
        assert scores["frames_per_s"] > 0 and scores["frames"] > 0
        assert scores["bf16_frames"] > 0 and -1 <= scores["bf16_min_cc"] <= scores["bf16_mean_cc"] <= 1
        assert {"IG", "AUC-B"} <= set(scores)  # every metric, as `diffsal evaluate` by default
    table = (modality / "accuracy-at-speed.md").read_text()
    assert "| DiffSal tiny, 4-frame clips, K = 4 |" in table and "CC minus that of K = 1, K = 2: " in table
    assert ", K = 4: " in table


def test_rerun_reuses_trainings_predictions_and_scores(modality):
    assert main(["ablate", "fusion", "--out", str(modality), "--seeds", "0", *TOY]) == 0
    files = [modality / "train" / "concat-seed0" / "checkpoints" / "best" / "model.safetensors",
             modality / "predictions" / "concat-seed0" / "Synthetic",
             modality / "evaluation" / "concat-seed0" / "metrics.json"]
    before = [path.resolve().stat().st_mtime_ns for path in files]
    rows = json.loads((modality / "fusion.json").read_text())["rows"]
    assert main(["ablate", "fusion", "--out", str(modality), "--seeds", "0", *TOY]) == 0
    assert [path.resolve().stat().st_mtime_ns for path in files] == before
    assert json.loads((modality / "fusion.json").read_text())["rows"] == rows


def test_reframing_study_scores_every_predictor(modality):
    """Reuses the modality study's models and predictions; the sounding-object fractions are fractions, the
    centre crop is one fixed window, and the table names every predictor."""
    assert main(["ablate", "reframing", "--out", str(modality), "--seeds", "0", "1", *TOY]) == 0
    document = json.loads((modality / "reframing.json").read_text())
    rows = document["rows"]
    assert list(rows) == ["DiffSal tiny, audio-visual (MIM)", "DiffSal tiny, video-only", "centre crop",
                          "window following the mean of all objects"]
    for label, per_seed in rows.items():
        for scores in per_seed.values():
            assert 0.0 <= scores["inside"] <= 1.0
    model = rows["DiffSal tiny, audio-visual (MIM)"]
    assert set(model) == {"0", "1"}
    assert model["0"]["jerk"] >= 0 and 0.0 <= model["0"]["kept"] <= 1.0
    videos = list((modality / "reframing" / "audio-visual-seed0").glob("*.mp4"))
    assert videos and all(path.with_suffix(".crop_path.json").is_file() for path in videos)
    table = (modality / "reframing.md").read_text()
    assert "| centre crop |" in table and "sounding object inside the window" in table
    assert (modality / "reframing.png").stat().st_size > 1000
