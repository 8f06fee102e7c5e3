"""The challenge layout (AIM 2024 / NTIRE 2026): synth, index, data check, 10-bit maps, training, the submission
format, the challenge protocol's metrics and rules, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from diffsal.cli import main
from diffsal.data.challenge import read_fixations
from diffsal.data.ground_truth import GroundTruth
from diffsal.data.index import index_dataset
from diffsal.distillation.recipe import VideosSection
from diffsal.distillation.videos import distillation_videos
from diffsal.evaluation.challenge import center_prior_levels, extraction_order
from diffsal.io.video import VideoReader
from diffsal.io.writer import write_gray_video
from diffsal.metrics import METRIC_NAMES
from diffsal.metrics.challenge import auc_judd, cc, nss, read_map, resize_bilinear, score_frame, sim
from diffsal.models import DiffSal, DiffSalConfig

FRAMES = 20  # 0.8 s at 25 fps
MICRO = {"num_frames": 4, "height": 32, "width": 64}


def run_cli(*argv) -> int:
    return main([str(argument) for argument in argv])


@pytest.fixture(scope="module")
def challenge(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("challenge") / "data"
    assert run_cli("synth", "--out", root, "--layout", "challenge", "--videos", 6, "--seconds", 0.8,
                   "--size", "64x48", "--test-fraction", 0.34, "--quiet") == 0
    return root


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    data = DiffSalConfig.preset("tiny").to_dict()
    data.update(MICRO)
    torch.manual_seed(0)
    return DiffSal(DiffSalConfig.from_dict(data)).save_pretrained(tmp_path_factory.mktemp("model") / "best")


@pytest.fixture(scope="module")
def submission(tmp_path_factory, challenge, model) -> Path:
    out = tmp_path_factory.mktemp("submission") / "public"
    assert run_cli("predict", challenge, "--part", "public_test", "--model", model, "--format", "challenge",
                   "--out", out, "--no-overlay") == 0
    return out


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


# ---------------------------------------------------------------------- the layout and its index
def test_synth_writes_the_challenge_layout_and_data_check_finds_no_problem(challenge, capsys):
    split = json.loads((challenge / "TrainTestSplit.json").read_text())
    assert sorted(split) == ["private_test", "public_test", "train"]
    assert len(split["train"]) == 4 and len(split["public_test"]) == 1 and len(split["private_test"]) == 1
    info = json.loads((challenge / "VideoInfo.json").read_text())
    assert sorted(info) == sorted(split["train"] + split["public_test"] + split["private_test"])
    for name in split["train"]:
        assert (challenge / "Videos" / f"{name}.mp4").is_file()
        assert (challenge / "SaliencyTrain" / "Train" / f"{name}.mp4").is_file()
        folder = challenge / "FixationsTrain" / "Train" / name
        assert len(read_fixations(folder / "fixations.json", (64, 48))) == FRAMES
        assert len(list((folder / "fixations_maps").glob("*.png"))) == FRAMES
    assert (challenge / "SaliencyTest" / "Test" / f"{split['public_test'][0]}.mp4").is_file()
    assert run_cli("data", "check", challenge) == 0
    assert "no problems" in "".join(capsys.readouterr())


def test_the_index_reads_each_part_and_the_ground_truth_of_a_video(challenge):
    split = json.loads((challenge / "TrainTestSplit.json").read_text())
    public = index_dataset(challenge, part="public_test")
    assert [record.video for record in public.records] == split["public_test"] and not public.skipped
    train = index_dataset(challenge, part="train", validation_fraction=0.25)
    val = index_dataset(challenge, part="val", validation_fraction=0.25)
    assert len(train.records) == 3 and len(val.records) == 1
    assert {record.video for record in train.records + val.records} == set(split["train"])
    record = train.records[0]
    assert (record.num_frames, record.fps, record.dataset) == (FRAMES, 25.0, "Challenge")
    assert record.audio == record.frames  # the sound is the video's own track
    truth = GroundTruth(record)
    try:
        saliency, fixations = truth.saliency(3), truth.fixations(3)
        points = truth.fixation_points()[3]
    finally:
        truth.close()
    assert saliency.shape == fixations.shape == (48, 64)
    assert saliency.min() == 0.0 and saliency.max() == 1.0  # min-max normalised maps
    assert fixations[points[:, 0], points[:, 1]].all() and fixations.sum() == len({tuple(p) for p in points})
    # The map is brightest where the viewers look.
    assert saliency[fixations].mean() > saliency.mean() + 0.2


def test_ten_bit_map_videos_round_trip_exactly_at_any_size(tmp_path):
    rng = np.random.default_rng(0)
    maps = [rng.integers(0, 1024, (27, 35)).astype(np.uint16) for _ in range(6)]
    write_gray_video(tmp_path / "maps.mp4", maps, 30, bits=10)
    with VideoReader(tmp_path / "maps.mp4") as reader:
        assert reader.num_frames == 6 and reader.luma_levels == (0, 1023)
        for index in (3, 0, 5, 1):  # random access
            assert np.array_equal(reader.luma(index), maps[index])
        extracted = reader.png_frame(2)  # as FFmpeg writes it to PNG: 16-bit grey RGB
        assert extracted.dtype == np.uint16 and extracted.shape == (27, 35, 3)
        assert np.array_equal(extracted[..., 0], extracted[..., 2])
        low, high = maps[2].min(), maps[2].max()
        np.testing.assert_allclose(read_map(extracted), (maps[2] - low) / (high - low), atol=1e-6)
    with pytest.raises(Exception, match="0..1023"):
        write_gray_video(tmp_path / "bad.mp4", [np.full((8, 8), 2000, np.uint16)], 30, bits=10)
    assert not (tmp_path / "bad.mp4").exists()


def test_the_tiny_recipe_trains_on_a_challenge_root(challenge, tmp_path):
    assert run_cli("train", "--config", Path(__file__).resolve().parents[1] / "configs" / "synthetic_tiny.yaml",
                   f"out_dir={tmp_path / 'run'}", f"data.root={challenge}", "data.format=challenge",
                   "data.train_stride=10", "data.validation_fraction=0.25", "data.validation_stride=10",
                   "data.num_workers=0", f"model.overrides={json.dumps(MICRO)}", "train.max_steps=2",
                   "train.batch_size=2", "train.eval_every=2", "train.checkpoint_every=2") == 0
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any(row.get("cc") is not None for row in log)  # validated on the held-out train video
    assert (tmp_path / "run" / "checkpoints" / "best" / "model.safetensors").is_file()


def test_distillation_reads_only_the_videos_of_a_challenge_part(challenge):
    records = distillation_videos(VideosSection(paths=[str(challenge)], part="private_test"), needs_sound=True)
    split = json.loads((challenge / "TrainTestSplit.json").read_text())
    assert [record.video for record in records] == split["private_test"]
    assert records[0].maps is None and records[0].audio is not None and records[0].num_frames == FRAMES


# ---------------------------------------------------------------------- the submission
def test_predict_writes_a_submission_that_holds_only_the_map_videos(challenge, submission, model, capsys):
    split = json.loads((challenge / "TrainTestSplit.json").read_text())
    name = split["public_test"][0]
    visible = sorted(path.name for path in submission.iterdir() if not path.name.startswith("."))
    assert visible == sorted([f"{name}.mp4", "predict_summary.json"])
    with VideoReader(submission / f"{name}.mp4") as maps, VideoReader(challenge / "Videos" / f"{name}.mp4") as video:
        assert (maps.num_frames, maps.size) == (video.num_frames, video.size)
        assert maps.png_frame(0).dtype == np.uint8  # 8-bit: FFmpeg extracts 8-bit RGB PNGs
    before = (submission / f"{name}.mp4").stat().st_mtime_ns
    assert run_cli("predict", challenge, "--model", model, "--format", "challenge", "--out", submission,
                   "--no-overlay") == 0  # public_test is the default part; the complete video is kept
    assert (submission / f"{name}.mp4").stat().st_mtime_ns == before
    assert "complete" in capsys.readouterr().err


def test_evaluate_scores_the_ground_truth_itself_perfectly(challenge, tmp_path):
    submission = tmp_path / "truth"
    submission.mkdir()
    for path in (challenge / "SaliencyTest" / "Test").glob("*.mp4"):
        shutil.copy(path, submission / path.name)
    assert run_cli("evaluate", challenge, submission, "--part", "test", "--out", tmp_path / "scores", "--quiet") == 0
    result = json.loads((tmp_path / "scores" / "metrics.json").read_text())
    assert result["protocol"]["name"] == "challenge" and len(result["videos"]) == 2
    scores = result["databases"]["Challenge"]["scores"]
    assert scores["CC"] == pytest.approx(1.0, abs=1e-6) and scores["SIM"] == pytest.approx(1.0, abs=1e-6)
    assert scores["NSS"] > 2 and scores["AUC-J"] > 0.9
    assert result["videos"][0]["frames_scored"] == FRAMES


def test_evaluate_scores_a_model_submission_and_a_constant_one(challenge, submission, tmp_path):
    assert run_cli("evaluate", challenge, submission, "--protocol", "challenge", "--out", tmp_path / "model",
                   "--quiet") == 0
    scores = json.loads((tmp_path / "model" / "metrics.json").read_text())["databases"]["Challenge"]["scores"]
    assert set(scores) == {"CC", "SIM", "NSS", "AUC-J"} and all(np.isfinite(list(scores.values())))
    assert run_cli("evaluate", challenge, "center-prior", "--out", tmp_path / "prior", "--quiet") == 0
    prior = json.loads((tmp_path / "prior" / "metrics.json").read_text())
    assert prior["predictions"]["source"] == "center-prior"
    written = tmp_path / "prior_videos"  # the same baseline as a submission of 8-bit map videos
    written.mkdir()
    for path in submission.glob("*.mp4"):
        with VideoReader(path) as reader:
            frames, size = reader.num_frames, reader.size
        write_gray_video(written / path.name, [center_prior_levels(size)] * frames, 25)
    assert run_cli("evaluate", challenge, written, "--out", tmp_path / "prior_videos_scores", "--quiet") == 0
    scores_of_videos = json.loads((tmp_path / "prior_videos_scores" / "metrics.json").read_text())
    assert prior["databases"] == scores_of_videos["databases"]
    assert 0.1 < prior["databases"]["Challenge"]["scores"]["CC"] < 0.9
    constant = tmp_path / "constant"
    constant.mkdir()
    for path in submission.glob("*.mp4"):
        with VideoReader(path) as reader:
            frames, size = reader.num_frames, reader.size
        write_gray_video(constant / path.name, [np.full(size[::-1], 128, np.uint8)] * frames, 25)
    assert run_cli("evaluate", challenge, constant, "--out", tmp_path / "flat", "--quiet") == 0
    flat = json.loads((tmp_path / "flat" / "metrics.json").read_text())["databases"]["Challenge"]["scores"]
    assert flat["CC"] == 0.0 and flat["SIM"] == 0.0 and flat["NSS"] == 0.0
    assert flat["AUC-J"] < 0.1  # no tie jitter: a constant map scores about 1 / (2N), not 0.5


# ---------------------------------------------------------------------- the same data under stavis and strict
def test_strict_and_stavis_score_a_challenge_root_with_every_metric(challenge, submission, model, tmp_path):
    png = tmp_path / "png"
    assert run_cli("predict", challenge, "--model", model, "--format", "png", "--out", png, "--no-overlay",
                   "--quiet") == 0
    scores = {}
    for protocol in ("strict", "stavis"):
        for name, folder in (("mp4", submission), ("png", png)):
            out = tmp_path / f"{protocol}_{name}"
            assert run_cli("evaluate", challenge, folder, "--protocol", protocol, "--out", out, "--quiet") == 0
            result = json.loads((out / "metrics.json").read_text())
            assert result["layout"] == "challenge" and result["protocol"]["name"] == protocol
            (video,) = result["videos"]
            assert video["frames_scored"] == FRAMES and video["frames_missing"] == 0
            scores[protocol, name] = result["databases"]["Challenge"]["scores"]
    assert set(scores["strict", "mp4"]) == set(METRIC_NAMES)
    assert all(np.isfinite(list(scores["strict", "mp4"].values())))
    for protocol in ("strict", "stavis"):  # the submission's videos and the PNGs hold the same 8-bit maps
        assert scores[protocol, "mp4"] == pytest.approx(scores[protocol, "png"], abs=1e-4)


def test_strict_scores_the_ground_truth_map_video_itself_perfectly(challenge, tmp_path):
    truth = tmp_path / "truth"
    truth.mkdir()
    for path in (challenge / "SaliencyTest" / "Test").glob("*.mp4"):
        shutil.copy(path, truth / path.name)  # 10-bit videos
    assert run_cli("evaluate", challenge, truth, "--protocol", "strict", "--part", "test", "--pattern", "challenge",
                   "--blur-sigma", 0, "--metrics", "CC,SIM,KLD", "--out", tmp_path / "scores", "--quiet") == 0
    result = json.loads((tmp_path / "scores" / "metrics.json").read_text())
    assert len(result["videos"]) == 2 and all(video["frames_scored"] == FRAMES for video in result["videos"])
    scores = result["databases"]["Challenge"]["scores"]
    assert scores["CC"] == pytest.approx(1.0, abs=1e-6) and scores["SIM"] == pytest.approx(1.0, abs=1e-4)
    assert scores["KLD"] == pytest.approx(0.0, abs=1e-4)


def test_strict_pairs_frame_k_with_the_kth_fixation_list_past_frame_999(tmp_path):
    """The challenge's script pairs frames in the order of their sorted file names: past frame 999 its fixations
    go out of step with the maps. Each frame here has one bright pixel, fixated; the prediction is the map itself."""
    frames, side = 1001, 16
    root = tmp_path / "long"
    (root / "Videos").mkdir(parents=True)
    (root / "TrainTestSplit.json").write_text(json.dumps({"train": [], "public_test": ["long"], "private_test": []}))
    maps, points = [], []
    for index in range(frames):
        row, col = divmod(index * 7 % (side * side), side)
        picture = np.zeros((side, side), np.uint8)
        picture[row, col] = 255
        maps.append(picture)
        points.append([[row, col]])
    (root / "SaliencyTest" / "Test").mkdir(parents=True)
    write_gray_video(root / "SaliencyTest" / "Test" / "long.mp4", maps, 25)
    (root / "FixationsTest" / "Test" / "long").mkdir(parents=True)
    (root / "FixationsTest" / "Test" / "long" / "fixations.json").write_text(json.dumps(points))
    submission = tmp_path / "submission"
    submission.mkdir()
    shutil.copy(root / "SaliencyTest" / "Test" / "long.mp4", submission / "long.mp4")
    nss = {}
    for protocol in ("challenge", "strict"):
        out = tmp_path / protocol
        options = ("--blur-sigma", 0, "--pattern", "challenge") if protocol == "strict" else ()
        assert run_cli("evaluate", root, submission, "--protocol", protocol, "--metrics", "NSS", *options,
                       "--out", out, "--quiet") == 0
        result = json.loads((out / "metrics.json").read_text())
        assert result["videos"][0]["frames_scored"] == frames
        nss[protocol] = result["databases"]["Challenge"]["scores"]["NSS"]
    assert nss["strict"] > 15  # every frame's fixation on its own bright pixel: about sqrt(255)
    assert nss["challenge"] < 0.2 * nss["strict"]  # frames 101-999 scored against another frame's fixations


def test_a_fixation_list_of_another_length_is_cut_by_the_challenge_protocol_and_refused_by_strict(
        challenge, submission, tmp_path, capsys):
    name = json.loads((challenge / "TrainTestSplit.json").read_text())["public_test"][0]
    root = copy_tree(challenge, tmp_path / "data")
    fixations = root / "FixationsTest" / "Test" / name / "fixations.json"
    fixations.write_text(json.dumps(json.loads(fixations.read_text())[:-2]))
    assert run_cli("evaluate", root, submission, "--out", tmp_path / "cut", "--quiet") == 0
    assert json.loads((tmp_path / "cut" / "metrics.json").read_text())["videos"][0]["frames_scored"] == FRAMES - 2
    capsys.readouterr()
    assert run_cli("evaluate", root, submission, "--protocol", "strict", "--out", tmp_path / "strict",
                   "--quiet") == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and f"{FRAMES - 2} frames of fixations but the map video {name}.mp4 has {FRAMES}" in error[0]
    assert not (tmp_path / "strict").exists()


# ---------------------------------------------------------------------- the challenge's formulas and rules
def test_the_challenge_metrics_follow_its_formulas():
    rng = np.random.default_rng(1)
    saliency = rng.random((12, 16))
    assert cc(saliency, saliency) == pytest.approx(1.0, abs=1e-6)
    assert sim(saliency, saliency) == pytest.approx(1.0, abs=1e-6)
    assert cc(saliency, 1 - saliency) == pytest.approx(-1.0, abs=1e-6)
    fixations = np.array([[2, 3], [2, 3], [7, 11]])
    z = (saliency - saliency.mean()) / (saliency.std() + 1e-7)
    assert nss(saliency, fixations) == pytest.approx((2 * z[2, 3] + z[7, 11]) / 3)  # repeats count
    # AUC-Judd of a map that is 1 at the two fixated pixels and 0 elsewhere, by hand: the two thresholds are
    # both 1 (a tie, not broken), so the curve is (0, 0), (1/190, 1/2), (0, 1), (1, 1): 1 - 1/380.
    peaked = np.zeros((12, 16))
    peaked[2, 3] = peaked[7, 11] = 1.0
    assert auc_judd(peaked, fixations[1:]) == pytest.approx(1 - 1 / 380, abs=1e-12)
    flat = np.zeros((12, 16))
    assert auc_judd(flat, fixations) == pytest.approx(1 / 6, abs=0.02)  # about 1 / (2N), N = 3
    assert read_map(np.full((4, 4), 7, np.uint16)).max() == 0.0  # a constant map reads as zeros
    assert set(score_frame(saliency, saliency, fixations)) == {"CC", "SIM", "NSS", "AUC-J"}


def test_predictions_are_resized_bilinearly_with_centred_pixels():
    row = np.array([[0.0, 1.0]])
    np.testing.assert_allclose(resize_bilinear(row, (4, 1)), [[0.0, 0.25, 0.75, 1.0]])
    np.testing.assert_allclose(resize_bilinear(np.arange(4.0)[None], (2, 1)), [[0.5, 2.5]])
    image = np.random.default_rng(2).random((5, 7))
    assert np.array_equal(resize_bilinear(image, (7, 5)), image)


def test_frames_are_paired_with_fixations_in_the_order_of_their_extracted_names():
    assert extraction_order(12) == list(range(12))
    order = extraction_order(1001)
    assert order[:100] == list(range(100))
    assert order[100] == 999  # 1000.png sorts before 101.png
    assert sorted(order) == list(range(1001))


# ---------------------------------------------------------------------- bad input
def test_bad_fixations_are_refused_with_one_line_and_nothing_written(challenge, submission, tmp_path, capsys):
    split = json.loads((challenge / "TrainTestSplit.json").read_text())
    name = split["public_test"][0]
    cases = {
        "missing": None,
        "malformed": "[[[1, 2]], [[1,",
        "outside": json.dumps([[[47, 63]]] * (FRAMES - 1) + [[[48, 3]]]),
        "not pairs": json.dumps([[[1, 2, 3]]] * FRAMES),
        "empty frame": json.dumps([[[1, 2]]] * 5 + [[]] + [[[1, 2]]] * (FRAMES - 6)),
        "huge": json.dumps([[[10**30, 3]]] * FRAMES),
    }
    for case, content in cases.items():
        root = copy_tree(challenge, tmp_path / case.replace(" ", "_"))
        fixations = root / "FixationsTest" / "Test" / name / "fixations.json"
        if content is None:
            fixations.unlink()
        else:
            fixations.write_text(content)
        out = tmp_path / f"scores_{case.replace(' ', '_')}"
        assert run_cli("evaluate", root, submission, "--out", out, "--quiet") == 2, case
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and "Traceback" not in error[0], case
        assert ("fixations" in error[0]) and (name in error[0] or "fixations.json" in error[0]), case
        assert not (out / "metrics.json").exists()
        check = run_cli("data", "check", root)
        assert check == 1, case
        capsys.readouterr()


def test_a_submission_that_does_not_fit_is_refused(challenge, submission, tmp_path, capsys):
    split = json.loads((challenge / "TrainTestSplit.json").read_text())
    name = split["public_test"][0]
    short = tmp_path / "short"
    short.mkdir()
    write_gray_video(short / f"{name}.mp4", [np.zeros((48, 64), np.uint8)] * (FRAMES - 1), 25)
    assert run_cli("evaluate", challenge, short, "--out", tmp_path / "a", "--quiet") == 2
    assert f"{FRAMES - 1} frames" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli("evaluate", challenge, empty, "--out", tmp_path / "b", "--quiet") == 2
    assert "no prediction" in capsys.readouterr().err
    assert run_cli("evaluate", challenge, empty, "--protocol", "strict", "--out", tmp_path / "c", "--quiet") == 2
    assert "no prediction file matches" in capsys.readouterr().err
    assert run_cli("evaluate", challenge, submission, "--protocol", "strict", "--split", "1", "--out", tmp_path / "d",
                   "--quiet") == 2
    assert "--split does not apply" in capsys.readouterr().err
    assert run_cli("evaluate", challenge, submission, "--blur-sigma", 0, "--seed", 3, "--out", tmp_path / "e",
                   "--quiet") == 2
    error = capsys.readouterr().err
    assert "--blur-sigma" in error and "--seed" in error and "not used by the challenge protocol" in error
    assert not (tmp_path / "e").exists()


def test_a_map_video_of_another_length_and_absent_videos_are_reported(challenge, tmp_path, model, capsys):
    split = json.loads((challenge / "TrainTestSplit.json").read_text())
    root = copy_tree(challenge, tmp_path / "data")
    name = split["train"][0]
    write_gray_video(root / "SaliencyTrain" / "Train" / f"{name}.mp4",
                     [np.zeros((48, 64), np.uint16)] * (FRAMES + 2), 25, bits=10)
    assert run_cli("data", "check", root) == 1
    assert f"{FRAMES + 2} map frames but the video has {FRAMES}" in "".join(capsys.readouterr())
    split["public_test"].append("absent_video")
    (root / "TrainTestSplit.json").write_text(json.dumps(split))
    assert run_cli("predict", root, "--model", model, "--format", "challenge", "--out", tmp_path / "sub") == 2
    error = capsys.readouterr().err
    assert "absent_video" in error and "Videos" in error
    assert not (tmp_path / "sub").exists() or not any((tmp_path / "sub").glob("*.mp4"))
    assert run_cli("data", "check", root) == 1
    (root / "TrainTestSplit.json").write_text('{"train": "synth0000"}')
    assert run_cli("data", "check", root) == 1
    assert "must be a list of video names" in "".join(capsys.readouterr())


def test_a_video_name_that_is_a_path_is_refused_before_anything_is_written(challenge, tmp_path, model, capsys):
    root = copy_tree(challenge, tmp_path / "data")
    split = json.loads((root / "TrainTestSplit.json").read_text())
    shutil.copy(root / "Videos" / f"{split['public_test'][0]}.mp4", root / "victim.mp4")
    split["public_test"].append("../victim")
    (root / "TrainTestSplit.json").write_text(json.dumps(split))
    (tmp_path / "victim.mp4").write_text("user work")
    assert run_cli("predict", root, "--model", model, "--format", "challenge", "--out", tmp_path / "sub") == 2
    error = capsys.readouterr().err
    assert "TrainTestSplit.json" in error and "'../victim'" in error and "not a video name" in error
    assert (tmp_path / "victim.mp4").read_text() == "user work" and not (tmp_path / "sub").exists()
    assert run_cli("data", "check", root) == 1
    assert "not a video name" in "".join(capsys.readouterr())


def test_a_second_map_video_or_fixation_list_of_a_video_is_refused(challenge, submission, tmp_path, capsys):
    name = json.loads((challenge / "TrainTestSplit.json").read_text())["public_test"][0]
    for kind, source, target in (
            ("maps", f"SaliencyTest/Test/{name}.mp4", f"SaliencyTest/Other/{name}.mp4"),
            ("fixations", f"FixationsTest/Test/{name}/fixations.json", f"FixationsTrain/Train/{name}/fixations.json")):
        root = copy_tree(challenge, tmp_path / kind)
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / source, root / target)
        for protocol in ("challenge", "strict"):
            assert run_cli("evaluate", root, submission, "--protocol", protocol, "--out", tmp_path / f"{kind}_{protocol}",
                           "--quiet") == 2
            error = capsys.readouterr().err.strip().splitlines()
            assert len(error) == 1 and f"two files for the video '{name}'" in error[0] and target in error[0]
        assert run_cli("data", "check", root) == 1
        assert "two files for the video" in "".join(capsys.readouterr())


def test_the_challenge_protocol_refuses_options_it_would_ignore(challenge, submission, tmp_path, capsys):
    for option in (("--pattern", "challenge"), ("--layout", "stavis"), ("--auc-splits", 7)):
        assert run_cli("evaluate", challenge, submission, *option, "--out", tmp_path / "scores", "--quiet") == 2
        assert option[0] in capsys.readouterr().err
    assert not (tmp_path / "scores").exists()


def test_the_videos_folder_may_be_named_as_the_zip_unpacked_it(challenge, tmp_path):
    root = copy_tree(challenge, tmp_path / "data")
    (root / "Videos").rename(root / "videos")
    records = index_dataset(root, part="private_test").records
    assert len(records) == 1 and Path(records[0].frames).parent.name == "videos"
