"""`predict --format png|stavis|mp4|challenge`: the files each writes, and `evaluate` scoring all four to the same
numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run
from PIL import Image

from diffsal.io.video import read_gray_video

FAST = ["--steps", "1", "--batch-size", "4", "--threads", "1", "--quiet", "--no-overlay"]
METRICS = "CC,NSS,SIM,KLD,AUC-J"


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("formats") / "synthetic"
    assert run("synth", "--out", root, "--videos", "6", "--seconds", "1", "--size", "63x47", "--fps", "6",
               "--observers", "3", "--test-fraction", "0.34", "--quiet") == 0
    return root


@pytest.fixture(scope="module")
def predicted(tmp_path_factory, synthetic_root, tiny_model) -> dict[str, Path]:
    """The same predictions in the four formats (same model, seed and settings)."""
    out = tmp_path_factory.mktemp("predictions")
    folders = {}
    for name in ("png", "stavis", "mp4", "challenge"):
        folders[name] = out / name
        assert run("predict", synthetic_root, "--model", tiny_model, "--out", folders[name], "--format", name,
                   *FAST) == 0
    return folders


def _test_videos(root: Path) -> list[tuple[str, int]]:
    text = (root / "fold_lists" / "Synthetic_list_test_1_fps.txt").read_text()
    return [(line.split()[0], int(line.split()[1])) for line in text.splitlines() if line.strip()]


def test_each_format_writes_its_files(predicted, synthetic_root):
    videos = _test_videos(synthetic_root)
    assert videos
    for video, frames in videos:
        png = predicted["png"] / "Synthetic" / video
        jpeg = predicted["stavis"] / "split1_results" / "synthetic" / video  # the MATLAB evaluation's tree
        mp4 = predicted["mp4"] / "Synthetic" / video / "saliency.mp4"
        assert sorted(path.name for path in png.glob("*.png")) == [f"{n:05d}.png" for n in range(1, frames + 1)]
        assert sorted(path.name for path in jpeg.glob("*.jpg")) == [f"pred_sal_{n:06d}.jpg" for n in range(1, frames + 1)]
        assert not list(jpeg.glob("*.png")) and not list(mp4.parent.glob("*.png"))
        maps = list(read_gray_video(mp4))
        assert len(maps) == frames
        submitted = predicted["challenge"] / "Synthetic" / f"{video}.mp4"  # beside its hidden output folder
        assert all(np.array_equal(a, b) for a, b in zip(read_gray_video(submitted), maps, strict=True))
        assert (predicted["challenge"] / ".diffsal" / "Synthetic" / video / "summary.json").is_file()
        assert not (predicted["challenge"] / "Synthetic" / video).exists()
        for number in (1, frames):
            levels = np.asarray(Image.open(png / f"{number:05d}.png"))
            assert levels.shape == (47, 63) and np.array_equal(maps[number - 1], levels)  # lossless, odd size kept
            from_jpeg = np.asarray(Image.open(jpeg / f"pred_sal_{number:06d}.jpg")).astype(int)
            assert np.abs(from_jpeg - levels).max() <= 3  # JPEG at quality 100
        summary = json.loads((jpeg / "summary.json").read_text())
        assert summary["files"]["map_format"] == "stavis" and summary["files"]["maps"].startswith("pred_sal_")


def _scores(root: Path, predictions: Path, out: Path, *pattern: str) -> dict:
    assert run("evaluate", root, predictions, "--out", out, "--metrics", METRICS, "--threads", "1", "--quiet",
               *pattern) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert '"frames_missing": 0' in json.dumps(report) and '"frames_missing": 1' not in json.dumps(report)
    return report["databases"]["Synthetic"]["scores"]


def test_evaluate_scores_the_three_formats_to_the_same_numbers(predicted, synthetic_root, tmp_path, capsys):
    """evaluate finds each format by itself (the format predict recorded); PNG and the lossless video give the
    same scores exactly, the quality-100 JPEGs within 2e-3."""
    scores = {name: _scores(synthetic_root, folder, tmp_path / name) for name, folder in predicted.items()}
    capsys.readouterr()
    assert set(scores["png"]) == set(METRICS.split(","))
    assert scores["mp4"] == scores["png"] == scores["challenge"]
    for metric, value in scores["png"].items():
        assert abs(scores["stavis"][metric] - value) < 2e-3, metric
    assert scores["png"]["CC"] != _scores(synthetic_root, "center-prior", tmp_path / "prior")["CC"]
    explicit = _scores(synthetic_root, predicted["mp4"], tmp_path / "explicit", "--pattern", "mp4")
    assert explicit == scores["mp4"]


def test_a_wrong_pattern_for_the_folder_is_named(predicted, synthetic_root, tmp_path, capsys):
    assert run("evaluate", synthetic_root, predicted["mp4"], "--out", tmp_path / "e", "--metrics", "CC",
               "--pattern", "default", "--quiet") == 2
    assert "no prediction file matches the pattern" in capsys.readouterr().err


def test_stavis_format_refuses_all_splits_at_once(synthetic_root, tiny_model, tmp_path, capsys):
    assert run("predict", synthetic_root, "--model", tiny_model, "--out", tmp_path / "p", "--format", "stavis",
               "--split", "all", *FAST) == 2
    error = capsys.readouterr().err
    assert "one folder per split" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_another_format_into_the_same_folder_is_refused_not_mixed(predicted, synthetic_root, tiny_model, capsys):
    run_summary = (predicted["mp4"] / "predict_summary.json").read_bytes()
    assert run("predict", synthetic_root, "--model", tiny_model, "--out", predicted["mp4"], *FAST) == 1
    assert "map_format 'mp4' -> 'png'" in capsys.readouterr().err
    assert not list((predicted["mp4"] / "Synthetic").glob("*/*.png"))
    assert (predicted["mp4"] / "predict_summary.json").read_bytes() == run_summary  # the refused run wrote nothing


def test_a_video_file_in_stavis_format_uses_the_published_naming(tmp_path, tiny_model, predicted):
    from media import make_video

    video = make_video(tmp_path / "clip.mp4", 5, 6, (40, 30), None, 44_100)
    assert run("predict", video, "--model", tiny_model, "--out", tmp_path / "out", "--format", "stavis", *FAST) == 0
    assert sorted(path.name for path in (tmp_path / "out" / "clip").glob("*.jpg")) == [
        f"pred_sal_{n:06d}.jpg" for n in range(1, 6)]
