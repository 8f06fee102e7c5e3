"""`diffsal predict` against hostile input: names that collide, models that give NaN, missing wavs,
options checked before OUT exists, names at the length limit, link loops, and DHF1K in every layout
predicted and then scored."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import torch
from conftest import assert_rejected
from media import make_video, tone
from trees import make_dhf1k, make_stavis

from diffsal.io.atomic import write_json
from diffsal.models import DiffSal, DiffSalConfig
from diffsal.models.saliency_diffusion import SaliencySample

FPS = 5
SIZE = (80, 48)
FAST = ["--steps", "1", "--batch-size", "4", "--threads", "1", "--quiet", "--no-overlay"]


def _micro_config() -> DiffSalConfig:
    data = DiffSalConfig.preset("tiny").to_dict()
    data.update(num_frames=4, height=32, width=64)
    return DiffSalConfig.from_dict(data)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return DiffSal(_micro_config()).save_pretrained(tmp_path_factory.mktemp("model") / "best")


def _strict_json(path: Path) -> dict:
    """The document, refusing the NaN/Infinity literals that Python writes but JSON does not have."""
    return json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"{path}: {name} in JSON"))


def _maps(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.png"))


# ---------------------------------------------------------------------- names
def test_videos_whose_stems_collide_get_their_own_outputs_and_resume(cli, tmp_path, model_dir):
    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "clip.mp4", 3, FPS, SIZE)
    make_video(folder / "clip.avi", 4, FPS, SIZE)
    out = tmp_path / "out"
    outcome = cli("predict", folder, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 0, outcome.stderr
    assert f"clip.avi -> {out / 'clip_avi'}" in outcome.stderr and f"clip.mp4 -> {out / 'clip_mp4'}" in outcome.stderr
    assert _maps(out / "clip_avi") == [f"{n:05d}.png" for n in range(1, 5)]
    assert _maps(out / "clip_mp4") == [f"{n:05d}.png" for n in range(1, 4)]
    again = cli("predict", folder, "--model", model_dir, "--out", out, *FAST)
    assert again.exit_code == 0 and _strict_json(out / "predict_summary.json")["skipped"] == 2


def _digest(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:6]


@pytest.mark.parametrize("names, expected", [
    (("A.MP4", "A.mp4"), {"A.MP4": f"A_mp4_{_digest('A.MP4')}", "A.mp4": f"A_mp4_{_digest('A.mp4')}"}),
    (("clip.mp4", "clip.avi", "clip_mp4.mp4"), {"clip.avi": "clip_avi", "clip.mp4": f"clip_mp4_{_digest('clip.mp4')}",
                                                "clip_mp4.mp4": f"clip_mp4_{_digest('clip_mp4.mp4')}"}),
])
def test_names_equal_even_with_their_extension_get_a_hash_of_the_file_name(cli, tmp_path, model_dir, names,
                                                                          expected):
    folder = tmp_path / "videos"
    folder.mkdir()
    source = make_video(tmp_path / "source.mp4", 3, FPS, SIZE)
    for name in names:
        (folder / name).write_bytes(source.read_bytes())
    out = tmp_path / "out"
    outcome = cli("predict", folder, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 0, outcome.stderr
    for name, key in expected.items():
        assert f"{name} -> {out / key}" in outcome.stderr
        assert _maps(out / key) == [f"{n:05d}.png" for n in range(1, 4)]
    assert sorted(path.name for path in out.iterdir() if path.is_dir()) == sorted(expected.values())
    again = cli("predict", folder, "--model", model_dir, "--out", out, *FAST)
    assert again.exit_code == 0 and _strict_json(out / "predict_summary.json")["skipped"] == len(names)


def test_a_file_named_like_another_files_hashed_name_is_refused_naming_both(cli, tmp_path, model_dir):
    folder = tmp_path / "videos"
    folder.mkdir()
    source = make_video(tmp_path / "source.mp4", 3, FPS, SIZE)
    impostor = f"A_mp4_{_digest('A.mp4')}.mp4"
    for name in ("A.MP4", "A.mp4", impostor):
        (folder / name).write_bytes(source.read_bytes())
    assert_rejected(cli("predict", folder, "--model", model_dir, "--out", tmp_path / "out", *FAST),
                    str(folder / "A.mp4"), str(folder / impostor), "rename one of them")
    assert not (tmp_path / "out").exists()


def test_an_output_of_another_input_is_never_taken_for_this_one(cli, tmp_path, model_dir):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    make_video(one / "clip.mp4", 3, FPS, SIZE)
    make_video(two / "clip.avi", 3, FPS, SIZE)
    out = tmp_path / "out"
    assert cli("predict", one, "--model", model_dir, "--out", out, *FAST).exit_code == 0
    stamp = (out / "clip" / "summary.json").stat().st_mtime_ns
    outcome = cli("predict", two, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 1
    assert "holds the prediction of another input (clip.mp4, not clip.avi)" in outcome.stderr
    assert (out / "clip" / "summary.json").stat().st_mtime_ns == stamp  # the other video's work is kept


def test_a_name_at_the_length_limit_is_predicted(cli, tmp_path, model_dir):
    name = "n" * 240
    video = make_video(tmp_path / f"{name}.mp4", 3, FPS, SIZE)
    out = tmp_path / "out"
    outcome = cli("predict", video, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 0, outcome.stderr
    assert _maps(out / name) == ["00001.png", "00002.png", "00003.png"]
    assert sorted(path.name for path in out.iterdir()) == sorted([name, "predict_summary.json"])  # no leftovers


# ---------------------------------------------------------------------- model output
def test_a_model_with_nan_weights_is_refused_before_out_is_made(cli, tmp_path, model_dir):
    model = DiffSal.from_pretrained(model_dir)
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = float("nan")
    broken = model.save_pretrained(tmp_path / "broken")
    video = make_video(tmp_path / "clip.mp4", 3, FPS, SIZE)
    assert_rejected(cli("predict", video, "--model", broken, "--out", tmp_path / "out", *FAST),
                    "the weights hold NaN or inf values")
    assert not (tmp_path / "out").exists()


def test_a_non_finite_output_fails_the_video_and_every_summary_stays_json(cli, tmp_path, model_dir, monkeypatch):
    original = DiffSal.sample

    def overflowing(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        return SaliencySample(result.mean * float("nan"), result.std)

    monkeypatch.setattr(DiffSal, "sample", overflowing)
    video = make_video(tmp_path / "clip.mp4", 3, FPS, SIZE)
    out = tmp_path / "out"
    outcome = cli("predict", video, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 1
    assert "clip: FAILED: the model's output is NaN or inf for the clip centred on frame 1" in outcome.stderr
    assert not (out / "clip").exists() and [path.name for path in out.iterdir()] == ["predict_summary.json"]
    assert _strict_json(out / "predict_summary.json")["failed"] == 1
    write_json(tmp_path / "odd.json", {"mean_std": float("nan"), "times": [float("inf"), 1.5]})
    assert _strict_json(tmp_path / "odd.json") == {"mean_std": None, "times": [None, 1.5]}


# ---------------------------------------------------------------------- audio
def test_a_dataset_video_without_its_wav_fails_unless_silence_is_asked_for(cli, tmp_path, model_dir):
    root = make_stavis(tmp_path / "data", {"v1": 3, "v2": 3})
    for name in ("v1", "v2"):
        (root / "video_audio" / "DB" / name).mkdir(parents=True)
        scipy.io.wavfile.write(root / "video_audio" / "DB" / name / f"{name}.wav", 16_000,
                               (tone(3 / FPS, 16_000) * 32767).astype(np.int16))
    missing = root / "video_audio" / "DB" / "v2" / "v2.wav"
    missing.unlink()
    out = tmp_path / "out"
    outcome = cli("predict", root, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 1
    assert f"DB/v2: FAILED: {missing}: wav missing" in outcome.stderr and "--no-audio" in outcome.stderr
    assert _maps(out / "DB" / "v1") and not (out / "DB" / "v2").exists()
    assert cli("predict", root, "--model", model_dir, "--out", out, "--audio-optional", *FAST).exit_code == 0
    assert _strict_json(out / "DB" / "v2" / "summary.json")["audio"].startswith(f"silence: {missing} missing")
    assert _strict_json(out / "DB" / "v1" / "summary.json")["audio"].startswith("sound track of")
    silent = tmp_path / "silent"
    assert cli("predict", root, "--model", model_dir, "--out", silent, "--no-audio", *FAST).exit_code == 0


# ---------------------------------------------------------------------- options and paths
@pytest.mark.parametrize("option", [("--precision", "fp16"), ("--model", "nowhere"), ("--device", "tpu")])
def test_a_bad_option_leaves_no_output_folder(cli, tmp_path, model_dir, option):
    video = make_video(tmp_path / "clip.mp4", 3, FPS, SIZE)
    arguments = ["predict", video, "--model", model_dir, "--out", tmp_path / "out", *FAST, *option]
    assert_rejected(cli(*arguments))
    assert not (tmp_path / "out").exists()


def test_a_symlink_loop_as_input_is_named_as_one(cli, tmp_path, model_dir):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    assert_rejected(cli("predict", tmp_path / "a", "--model", model_dir, "--out", tmp_path / "out"),
                    f"{tmp_path / 'a'}: symbolic link loop")


# ---------------------------------------------------------------------- DHF1K: predict, then evaluate
@pytest.mark.parametrize("layout", ["official", "flat", "parts"])
def test_every_dhf1k_layout_is_predicted_and_then_scored_frame_by_frame(cli, tmp_path, model_dir, layout):
    root = make_dhf1k(tmp_path / "dhf1k", layout, {601: 4, 602: 3, 12: 3})
    predictions, evaluation = tmp_path / "preds", tmp_path / "evaluation"
    outcome = cli("predict", root, "--model", model_dir, "--out", predictions, *FAST)
    assert outcome.exit_code == 0, outcome.stderr
    assert sorted(path.name for path in (predictions / "DHF1K").iterdir()) == ["0601", "0602"]  # val by default
    outcome = cli("evaluate", root, predictions, "--out", evaluation, "--metrics", "CC,NSS", "--require-all-frames")
    assert outcome.exit_code == 0, outcome.stderr
    rows = list(csv.DictReader((evaluation / "per_video.csv").open()))
    assert [(row["video"], row["frames_scored"], row["frames_missing"]) for row in rows] == \
        [("0601", "4", "0"), ("0602", "3", "0")]
    if layout == "official":  # the AVI folder itself: a plain folder of videos, and a note saying what to do
        outcome = cli("predict", root / "video", "--model", model_dir, "--out", tmp_path / "avi", *FAST)
        assert outcome.exit_code == 0 and "is the video folder of a DHF1K root" in outcome.stderr


def test_overwrite_never_replaces_a_folder_that_diffsal_did_not_write(cli, tmp_path, model_dir):
    video = make_video(tmp_path / "clip.mp4", 3, FPS, SIZE)
    out = tmp_path / "out"
    (out / "clip").mkdir(parents=True)
    (out / "clip" / "important.txt").write_text("precious")
    for extra in ((), ("--overwrite",)):
        outcome = cli("predict", video, "--model", model_dir, "--out", out, *FAST, *extra)
        assert outcome.exit_code == 1 and "is not a diffsal prediction" in outcome.stderr
        assert (out / "clip" / "important.txt").read_text() == "precious"
    assert cli("predict", video, "--model", model_dir, "--out", tmp_path / "ours", *FAST).exit_code == 0
    assert cli("predict", video, "--model", model_dir, "--out", tmp_path / "ours", *FAST, "--overwrite").exit_code == 0


def test_a_video_keeps_its_output_folder_when_a_file_with_the_same_stem_is_added(cli, tmp_path, model_dir):
    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "clip.mp4", 3, FPS, SIZE)
    out = tmp_path / "out"
    assert cli("predict", folder, "--model", model_dir, "--out", out, *FAST).exit_code == 0
    make_video(folder / "clip.avi", 4, FPS, SIZE)
    outcome = cli("predict", folder, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 0, outcome.stderr
    assert sorted(path.name for path in out.iterdir() if path.is_dir()) == ["clip", "clip_avi"]
    assert _strict_json(out / "predict_summary.json")["skipped"] == 1  # clip.mp4: its earlier output, kept


@pytest.mark.parametrize("option", [("--split", "4"), ("--part", "train"), ("--db", "AVAD")])
def test_dataset_options_for_a_video_file_are_refused(cli, tmp_path, model_dir, option):
    video = make_video(tmp_path / "clip.mp4", 3, FPS, SIZE)
    assert_rejected(cli("predict", video, "--model", model_dir, "--out", tmp_path / "out", *option),
                    f"{option[0]} only apply to a dataset root", "is a video file")
    assert not (tmp_path / "out").exists()
