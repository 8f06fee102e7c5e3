"""A refused or failed run changes no file that existed before it: every command that writes into an existing
folder, run again with other settings (or bad input) on the finished work of an earlier run."""

from __future__ import annotations

import json

import numpy as np
from conftest import assert_rejected, folder_state
from media import make_video
from trees import make_stavis

from diffsal.io.writer import write_gray_video

FAST = ["--steps", "1", "--batch-size", "4", "--threads", "1", "--quiet", "--no-overlay", "--no-audio"]
SYNTH = ["--videos", "2", "--seconds", "0.5", "--size", "48x32", "--fps", "6", "--observers", "2", "--quiet"]


def test_a_refused_predict_changes_no_file_and_evaluate_still_reads_the_run(cli, tmp_path, micro_model):
    data = make_stavis(tmp_path / "data", {"clip": 5})
    out = tmp_path / "predictions"
    assert cli("predict", data, "--model", micro_model, "--out", out, *FAST).exit_code == 0
    summary = json.loads((out / "DB" / "clip" / "summary.json").read_text())
    assert summary["signature"]["map_format"] == "png" and summary["files"]["map_format"] == "png"
    before = folder_state(out)
    refused = cli("predict", data, "--model", micro_model, "--out", out, "--format", "mp4", *FAST)
    assert refused.exit_code == 1 and "map_format 'png' -> 'mp4'" in refused.stderr
    assert folder_state(out) == before
    scored = cli("evaluate", data, out, "--out", tmp_path / "scores", "--metrics", "CC", "--quiet")
    assert scored.exit_code == 0, scored.stderr


def test_the_challenge_format_never_replaces_a_file_it_did_not_write(cli, tmp_path, micro_model):
    videos = tmp_path / "videos"
    videos.mkdir()
    make_video(videos / "clip.mp4", num_frames=5, fps=6, size=(48, 32))
    user = tmp_path / "user"
    user.mkdir()
    (user / "clip.mp4").write_bytes(b"my submission")
    before = folder_state(user)
    refused = cli("predict", videos, "--model", micro_model, "--out", user, "--format", "challenge", *FAST)
    assert refused.exit_code == 1 and "clip.mp4 exists but is not a diffsal prediction" in refused.stderr
    assert (user / "clip.mp4").read_bytes() == b"my submission" and folder_state(user)["clip.mp4"] == before["clip.mp4"]

    out = tmp_path / "submission"
    assert cli("predict", videos, "--model", micro_model, "--out", out, "--format", "challenge", *FAST).exit_code == 0
    (out / "clip.mp4").write_bytes(b"junk")  # the user's file in place of ours: never "already complete"
    again = cli("predict", videos, "--model", micro_model, "--out", out, "--format", "challenge", *FAST)
    assert again.exit_code == 1 and "not a diffsal prediction" in again.stderr
    assert (out / "clip.mp4").read_bytes() == b"junk"

    both = tmp_path / "both"
    assert cli("predict", videos, "--model", micro_model, "--out", both, *FAST).exit_code == 0
    before = folder_state(both)
    mixed = cli("predict", videos, "--model", micro_model, "--out", both, "--format", "challenge", *FAST)
    assert mixed.exit_code == 1 and "predicted in another map format" in mixed.stderr
    assert folder_state(both) == before
    other = tmp_path / "other"  # and the other way round
    assert cli("predict", videos, "--model", micro_model, "--out", other, "--format", "challenge", *FAST).exit_code == 0
    before = folder_state(other)
    mixed = cli("predict", videos, "--model", micro_model, "--out", other, *FAST)
    assert mixed.exit_code == 1 and "predicted in another map format" in mixed.stderr
    assert folder_state(other) == before


def test_evaluate_refused_for_missing_frames_changes_no_earlier_result(cli, tmp_path):
    data = make_stavis(tmp_path / "data", {"clip": 6})
    predictions = tmp_path / "predictions" / "DB" / "clip"
    predictions.mkdir(parents=True)
    maps = [np.full((48, 80), 20 * index, np.uint8) for index in range(6)]
    write_gray_video(predictions / "saliency.mp4", maps, 5)
    out = tmp_path / "scores"
    assert cli("evaluate", data, tmp_path / "predictions", "--pattern", "mp4", "--out", out, "--metrics", "CC",
               "--quiet").exit_code == 0
    before = folder_state(out)
    write_gray_video(predictions / "saliency.mp4", maps[:4], 5)  # frames 5 and 6 have no map now
    refused = cli("evaluate", data, tmp_path / "predictions", "--pattern", "mp4", "--out", out, "--metrics", "CC",
                  "--require-all-frames", "--quiet")
    assert_rejected(refused, "2 prediction frame(s) missing", "saliency.mp4 frame 5", "saliency.mp4 frame 6")
    assert folder_state(out) == before
    warned = cli("evaluate", data, tmp_path / "predictions", "--pattern", "mp4", "--out", tmp_path / "other",
                 "--metrics", "CC", "--quiet")
    assert warned.exit_code == 0 and "saliency.mp4 frame 5, " in warned.stderr
    scores = json.loads((tmp_path / "other" / "metrics.json").read_text())
    assert scores["missing_predictions"]["count"] == 2


def test_a_refused_synth_changes_no_file(cli, tmp_path):
    root = tmp_path / "synthetic"
    assert cli("synth", "--out", root, "--seed", "0", *SYNTH).exit_code == 0
    before = folder_state(root)
    assert cli("synth", "--out", root, "--seed", "0", *SYNTH).exit_code == 0  # the same settings: the same files
    assert {name: content for name, (content, _) in folder_state(root).items()} == \
        {name: content for name, (content, _) in before.items()}
    before = folder_state(root)
    assert_rejected(cli("synth", "--out", root, "--seed", "1", *SYNTH), f"{root}", "other settings", "seed")
    assert folder_state(root) == before


def test_a_refused_reframe_changes_no_file(cli, tmp_path, micro_model):
    video = make_video(tmp_path / "clip.mp4", 8, 6, (96, 54))
    out = tmp_path / "out" / "clip_9x16.mp4"
    assert cli("reframe", video, "--model", micro_model, "--out", out, "--steps", "1", "--quiet").exit_code == 0
    before = folder_state(out.parent)
    refused = cli("reframe", video, "--model", micro_model, "--out", out, "--aspect", "1:1", "--steps", "1",
                  "--quiet")
    assert_rejected(refused, "other settings", "aspect")
    assert folder_state(out.parent) == before
    on_itself = cli("reframe", out, "--model", micro_model, "--out", out, "--aspect", "1:1", "--overwrite", "--steps",
                    "1", "--quiet")  # a reframed video reframed again into its own place
    assert_rejected(on_itself, "the input video is also where --out would write")
    assert folder_state(out.parent) == before


def test_a_refused_conversion_changes_no_file(cli, tmp_path, micro_model):
    import shutil

    out = tmp_path / "converted"
    shutil.copytree(micro_model, out)
    before = folder_state(out)
    checkpoint = tmp_path / "best.pth"
    checkpoint.write_bytes(b"not read: the folder is refused first")
    assert_rejected(cli("convert-published", checkpoint, "--out", out), "already holds a model")
    assert folder_state(out) == before
