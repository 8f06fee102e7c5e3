"""One CLI vocabulary: the same flag means the same thing in every command, old spellings are deprecated
aliases (one note on stderr), and `predict DATA` then `evaluate DATA PREDS` cover the same frames."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from cli_runner import run

from diffsal.cli import build_parser

FAST = ["--steps", "1", "--batch-size", "4", "--threads", "1", "--quiet", "--no-overlay"]


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vocabulary") / "synthetic"
    assert run("synth", "--out", root, "--videos", "6", "--seconds", "1", "--size", "64x48", "--fps", "6",
               "--observers", "3", "--test-fraction", "0.34", "--quiet") == 0
    return root


def _scored(evaluation: Path) -> dict[str, int]:
    rows = list(csv.DictReader((evaluation / "per_video.csv").open()))
    return {f"{row['dataset']}/{row['video']}": int(row["frames"]) for row in rows if int(row["frames_missing"]) == 0}


def _split_lists(root: Path, split: int) -> set[str]:
    text = (root / "fold_lists" / f"Synthetic_list_test_{split}_fps.txt").read_text()
    return {f"Synthetic/{line.split()[0]}" for line in text.splitlines() if line.strip()}


def test_predict_then_evaluate_without_split_flags_cover_the_same_frames(tmp_path, synthetic_root, tiny_model, capsys):
    predictions, evaluation = tmp_path / "preds", tmp_path / "evaluation"
    assert run("predict", synthetic_root, "--model", tiny_model, "--out", predictions, *FAST) == 0
    assert run("evaluate", synthetic_root, predictions, "--out", evaluation, "--metrics", "CC,NSS",
               "--threads", "1", "--quiet") == 0
    capsys.readouterr()

    run_summary = json.loads((predictions / "predict_summary.json").read_text())
    assert run_summary["incomplete"] == {} and run_summary["done"] == run_summary["videos"]
    predicted = {}
    for summary_path in predictions.glob("*/*/summary.json"):
        summary = json.loads(summary_path.read_text())
        predicted[f"{summary_path.parent.parent.name}/{summary_path.parent.name}"] = summary["frames"]
    assert len(predicted) == run_summary["videos"] == run_summary["done"]
    assert sum(predicted.values()) == run_summary["predicted_frames_this_run"]

    report = json.loads((evaluation / "metrics.json").read_text())
    text = json.dumps(report)
    assert '"frames_missing": 0' in text and '"frames_missing": 1' not in text
    assert _scored(evaluation) == predicted  # every predicted frame scored, nothing else
    # Both defaults are split 1's test list, which is not all three lists (else the test proves nothing).
    assert set(predicted) == _split_lists(synthetic_root, 1)
    assert set(predicted) != _split_lists(synthetic_root, 1) | _split_lists(synthetic_root, 2) | _split_lists(
        synthetic_root, 3)


@pytest.mark.parametrize("old, new", [
    (["synth", "{tmp}/data"], ["synth", "--out", "{tmp}/data"]),
    (["info", "--model", "tiny", "--time", "--batch", "2"], ["info", "--model", "tiny", "--time", "--batch-size", "2"]),
    (["predict", "IN", "--model", "M", "--datasets", "AVAD,DIEM"], ["predict", "IN", "--model", "M", "--db", "AVAD", "DIEM"]),
    (["evaluate", "D", "P", "--datasets", "AVAD"], ["evaluate", "D", "P", "--db", "AVAD"]),
    (["evaluate", "D", "P", "--workers", "3"], ["evaluate", "D", "P", "--threads", "3"]),
])
def test_old_spellings_parse_like_the_new_ones_with_a_note(tmp_path, capsys, old, new):
    parser = build_parser()
    fill = [[word.replace("{tmp}", str(tmp_path)) for word in argv] for argv in (old, new)]
    old_args, new_args = (vars(parser.parse_args(argv)) for argv in fill)
    err = capsys.readouterr().err
    if old[0] == "synth":  # the positional is kept apart until run time, where it is the output root
        assert old_args.pop("legacy_out") == str(tmp_path / "data") and old_args.pop("out") is None
        assert new_args.pop("legacy_out") is None and new_args.pop("out") == str(tmp_path / "data")
        assert err == ""
        return
    old_args.pop("handler"), new_args.pop("handler")
    assert old_args == new_args
    assert err.count("\n") == 1 and "deprecated" in err
    renamed = next(word for word in new if word.startswith("--") and word not in old)
    assert f"{next(word for word in old if word.startswith('--') and word not in new)} is deprecated" in err
    assert f"use {renamed}" in err


def test_synth_positional_out_still_works_with_a_note(tmp_path, capsys):
    assert run("synth", tmp_path / "data", "--videos", "2", "--seconds", "1", "--size", "32x32", "--fps", "4",
               "--observers", "2", "--quiet") == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "deprecated" in err and f"--out {tmp_path / 'data'}" in err
    assert (tmp_path / "data" / "fold_lists").is_dir()
    assert run("synth", tmp_path / "x", "--out", tmp_path / "y") == 2
    assert "not both" in capsys.readouterr().err
    assert run("synth") == 2
    assert "--out DIR is required" in capsys.readouterr().err


SHARED = {"--device": ("train", "predict", "info"), "--threads": ("predict", "evaluate"),
          "--seed": ("predict", "evaluate", "synth"), "--quiet": ("predict", "evaluate", "synth", "prepare"),
          "--batch-size": ("predict", "info"), "--split": ("predict", "evaluate"),
          "--out": ("predict", "evaluate", "synth", "prepare", "convert-published")}


def _option(command: str, flag: str) -> object:
    parser = build_parser()
    subparsers = next(action for action in parser._actions if action.dest == "command")
    sub = subparsers.choices[command]
    return next(action for action in sub._actions if flag in action.option_strings)


@pytest.mark.parametrize("flag", sorted(SHARED))
def test_shared_flags_have_one_type_and_metavar_in_every_command(flag):
    actions = [_option(command, flag) for command in SHARED[flag]]
    assert len({action.type for action in actions}) == 1, flag
    assert len({action.metavar for action in actions}) == 1, flag
    assert len({type(action) for action in actions}) == 1, flag
    if flag in ("--device", "--quiet"):
        assert len({action.help for action in actions}) == 1 and len({action.default for action in actions}) == 1


def test_databases_are_db_names_everywhere():
    for command in ("predict", "evaluate"):
        action = _option(command, "--db")
        assert action.nargs == "+" and action.metavar == "NAME"
    data = build_parser().parse_args(["data", "check", "ROOT", "--db", "A", "B"])
    assert data.db == ["A", "B"]


def test_bad_device_is_one_line_with_exit_code_2(capsys):
    assert run("predict", "IN", "--model", "M", "--device", "gpu") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "device must be auto, cpu, cuda or cuda:N, got 'gpu'" in err
    assert run("train", "--device", "cuda:x") == 2
    assert "device must be auto, cpu, cuda or cuda:N" in capsys.readouterr().err


def test_the_library_calls_write_what_the_commands_write(tmp_path, synthetic_root, tiny_model, capsys):
    from diffsal.evaluation import EvaluationSettings
    from diffsal.evaluation.score import score
    from diffsal.inference.predict import SamplingSettings, predict
    from diffsal.inference.runner import OutputOptions

    assert run("predict", synthetic_root, "--model", tiny_model, "--out", tmp_path / "cli", *FAST) == 0
    assert run("evaluate", synthetic_root, tmp_path / "cli", "--out", tmp_path / "cli_scores", "--metrics", "CC,NSS",
               "--threads", "1", "--quiet") == 0
    capsys.readouterr()
    predicted = predict(synthetic_root, tiny_model, tmp_path / "library",
                        sampling=SamplingSettings(steps=1, batch_size=4), outputs=OutputOptions(overlay=False))
    assert predicted.exit_code == 0 and predicted.kind == "dataset"
    assert [outcome.status for outcome in predicted.report.outcomes] == ["done"] * len(predicted.videos)
    for video in predicted.videos:
        for cli_map in sorted((tmp_path / "cli" / video.key).glob("*.png")):
            assert cli_map.read_bytes() == (tmp_path / "library" / video.key / cli_map.name).read_bytes()
    result = score(synthetic_root, tmp_path / "library", tmp_path / "library_scores",
                   settings=EvaluationSettings(metrics=("CC", "NSS"), workers=1))
    cli_scores = json.loads((tmp_path / "cli_scores" / "metrics.json").read_text())["databases"]["Synthetic"]
    assert result.databases["Synthetic"].to_dict()["scores"] == cli_scores["scores"]
