"""`diffsal evaluate` from the command line: table on stdout, files written, one-line errors with exit 2."""

import json

from diffsal.cli import main
from test_evaluation import make_dhf1k, make_stavis, predict_something_on_the_empty_frame, write_perfect_predictions


def test_evaluate_prints_a_table_and_writes_the_files(tmp_path, capsys):
    data = make_stavis(tmp_path / "data")
    predictions = write_perfect_predictions(data, tmp_path / "pred")
    predict_something_on_the_empty_frame(predictions)
    out = tmp_path / "out"
    code = main(["evaluate", str(data), str(predictions), "--out", str(out), "--seed", "3", "--threads", "1",
                 "--split", "all"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.splitlines()[0] == "Protocol stavis: the STAViS MATLAB evaluation, rule for rule."
    assert captured.out.splitlines()[2].startswith("| dataset (stavis) | videos | frames | CC | NSS | SIM | KLD")
    assert "| DBX | 3 | 12 |" in captured.out
    assert ("sAUC other map: same-video; seed 3; 1 frame(s) without fixations (scored where a metric is defined: "
            "SIM and KLD, and CC unless the map is black)") in captured.out
    warning = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warning) == 1 and "frames dropped by one metric that another scored: CC 1, NSS 1" in warning[0]
    report = json.loads((out / "metrics.json").read_text())
    assert report["seed"] == 3 and report["sauc"]["variant"] == "same-video"
    assert (out / "per_video.csv").read_text().count("\n") == 4
    assert not list(out.glob(".*partial*"))


def test_missing_frames_warn_and_strict_fails_with_one_line(tmp_path, capsys):
    data = make_stavis(tmp_path / "data")
    predictions = write_perfect_predictions(data, tmp_path / "pred")
    (predictions / "DBX" / "v3" / "00001.png").unlink()
    assert main(["evaluate", str(data), str(predictions), "--out", str(tmp_path / "out"), "--metrics", "cc,nss",
                 "--split", "all"]) == 0
    captured = capsys.readouterr()
    assert "warning: 1 prediction frame(s) missing" in captured.err
    assert "v3/00001.png" in captured.err
    code = main(["evaluate", str(data), str(predictions), "--out", str(tmp_path / "strict"), "--require-all-frames",
                 "--split", "all"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("diffsal evaluate: error: 1 prediction frame(s) missing:")
    assert not (tmp_path / "strict" / "metrics.json").exists()


def test_center_prior_and_other_options(tmp_path, capsys):
    data = make_dhf1k(tmp_path / "dhf1k")
    code = main(["evaluate", str(data), "center-prior", "--out", str(tmp_path / "out"), "--part", "all",
                 "--sauc-other", "other-videos", "--other-videos", "1", "--auc-splits", "10"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "| DHF1K | 3 | 9 |" in captured.out
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert report["sauc"] == {"variant": "other-videos", "other_videos": 1, "splits": 10, "step": 0.1}
    assert report["predictions"]["source"] == "center-prior"


def test_dhf1k_parts_are_part_as_in_predict(tmp_path, capsys):
    data = make_dhf1k(tmp_path / "dhf1k")
    assert main(["evaluate", str(data), "center-prior", "--out", str(tmp_path / "a"), "--part", "all"]) == 0
    assert "| DHF1K | 3 | 9 |" in capsys.readouterr().out
    assert main(["evaluate", str(data), "center-prior", "--out", str(tmp_path / "b"), "--split", "all"]) == 0
    captured = capsys.readouterr()
    assert "now --part all" in captured.err and "| DHF1K | 3 | 9 |" in captured.out
    assert main(["evaluate", str(data), "center-prior", "--out", str(tmp_path / "c"), "--part", "all",
                 "--split", "all"]) == 2
    assert "--part only" in capsys.readouterr().err
    stavis = make_stavis(tmp_path / "stavis")
    assert main(["evaluate", str(stavis), "center-prior", "--out", str(tmp_path / "d"), "--part", "val"]) == 2
    assert "--part applies to a DHF1K or challenge root" in capsys.readouterr().err


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    data = make_stavis(tmp_path / "data")
    cases = [
        (["evaluate", str(tmp_path), "center-prior"], "unknown dataset layout"),
        (["evaluate", str(data), str(tmp_path / "absent")], "no such file or folder (prediction folder)"),
        (["evaluate", str(data), "center-prior", "--metrics", "CC,EMD"], "unknown metric 'EMD'"),
        (["evaluate", str(data), "center-prior", "--split", "val"], "split for the STAViS layout"),
        (["evaluate", str(data), "center-prior", "--blur-sigma", "-1"], "--blur-sigma: must be in [0, 1000] pixels"),
    ]
    for argv, message in cases:
        try:
            code = main(argv + ["--out", str(tmp_path / "out")])
        except SystemExit as exited:  # argparse checks the numbers
            code = exited.code
        captured = capsys.readouterr()
        assert code == 2, argv
        assert message in captured.err
        assert captured.err.count("\n") == 1
