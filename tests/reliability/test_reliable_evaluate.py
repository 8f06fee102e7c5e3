"""`diffsal evaluate` against hostile input: nothing to score, an output that is a file, missing
annotations of several videos, DHF1K under train/ val/, links that loop."""

from __future__ import annotations

import csv
import os
import shutil

import numpy as np
import pytest
from conftest import assert_rejected
from trees import make_dhf1k, make_stavis

from diffsal.data.annotations import read_saliency_map, write_saliency_map


@pytest.fixture
def stavis(tmp_path):
    return make_stavis(tmp_path / "data", {"v1": 3, "v2": 2, "v3": 2})


def _perfect_predictions(data, out):
    for maps in sorted((data / "annotations" / "DB").glob("*/maps")):
        (out / "DB" / maps.parent.name).mkdir(parents=True)
        for path in sorted(maps.glob("eyeMap_*.jpg")):
            write_saliency_map(out / "DB" / maps.parent.name / f"{int(path.stem[7:]):05d}.png", read_saliency_map(path))
    return out


def test_an_empty_prediction_folder_is_an_error_naming_folder_and_pattern(cli, stavis, tmp_path):
    empty = tmp_path / "preds"
    empty.mkdir()
    outcome = cli("evaluate", stavis, empty, "--split", "1", "--out", tmp_path / "evaluation")
    assert_rejected(outcome, str(empty), "no prediction file matches the pattern '{key}/{frame:05d}.png'",
                    str(empty / "DB" / "v1" / "00001.png"))
    (empty / "DB" / "v1").mkdir(parents=True)
    (empty / "DB" / "v1" / "1.png").write_bytes(b"")  # a file, but not one the pattern names
    assert_rejected(cli("evaluate", stavis, empty, "--split", "1", "--out", tmp_path / "evaluation"), "no prediction file matches")
    assert not (tmp_path / "evaluation").exists()


def test_an_output_that_is_a_file_is_refused_before_scoring(cli, stavis, tmp_path):
    predictions = _perfect_predictions(stavis, tmp_path / "preds")
    blocker = tmp_path / "evaluation"
    blocker.write_text("x")
    outcome = cli("evaluate", stavis, predictions, "--split", "1", "--out", blocker)
    assert_rejected(outcome, str(blocker), "is a file")
    assert outcome.stdout == ""  # refused before any table was scored
    assert cli("evaluate", stavis, predictions, "--split", "1", "--out", tmp_path / "ok", "--metrics", "CC").exit_code == 0


def test_missing_annotations_of_several_videos_are_named_together(cli, stavis, tmp_path):
    for video in ("v1", "v3"):
        shutil.rmtree(stavis / "annotations" / "DB" / video / "maps")
    outcome = cli("evaluate", stavis, "center-prior", "--split", "1", "--out", tmp_path / "evaluation")
    line = assert_rejected(outcome, "2 video(s) with problems", "DB/v1", "DB/v3")
    assert str(stavis / "annotations" / "DB" / "v3" / "maps") in line


def test_dhf1k_under_train_and_val_is_evaluated_like_training_reads_it(cli, tmp_path):
    root = make_dhf1k(tmp_path / "dhf1k", "parts", {601: 3, 602: 2, 12: 2})
    outcome = cli("evaluate", root, "center-prior", "--out", tmp_path / "evaluation", "--metrics", "CC,NSS")
    assert outcome.exit_code == 0, outcome.stderr
    rows = list(csv.DictReader((tmp_path / "evaluation" / "per_video.csv").open()))
    assert [(row["video"], row["frames_scored"]) for row in rows] == [("0601", "3"), ("0602", "2")]
    assert np.isfinite(float(rows[0]["CC"]))


def test_links_that_loop_are_named(cli, stavis, tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    assert_rejected(cli("evaluate", tmp_path / "a", "center-prior", "--out", tmp_path / "e"), "symbolic link loop")
    assert_rejected(cli("evaluate", stavis, tmp_path / "a", "--out", tmp_path / "e"), "symbolic link loop")
