"""`diffsal prepare` and `diffsal data check` against hostile input: names that collide, outputs that are
files, frames of another video, DHF1K in every layout, broken maps that only decoding finds."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_rejected
from media import make_video
from trees import FPS, SIZE, ground_truth, make_dhf1k, make_stavis

from diffsal.data import DHF1KDataset
from diffsal.data.annotations import write_saliency_map
from diffsal.data.fold_lists import read_fold_list
from diffsal.errors import DatasetError


def _loop(tmp_path: Path) -> Path:
    os.symlink(tmp_path / "loop_b", tmp_path / "loop_a")
    os.symlink(tmp_path / "loop_a", tmp_path / "loop_b")
    return tmp_path / "loop_a"


# ---------------------------------------------------------------------- prepare
def test_prepare_into_a_file_is_refused_before_any_work(cli, tmp_path):
    video = make_video(tmp_path / "clip.mp4", 3, FPS, SIZE)
    blocker = tmp_path / "root"
    blocker.write_text("not a folder")
    assert_rejected(cli("prepare", video, "--out", blocker), str(blocker), "is a file")
    assert blocker.read_text() == "not a folder"


def test_prepare_names_colliding_stems_apart(cli, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "clip.mp4", 3, FPS, SIZE)
    make_video(folder / "clip.avi", 4, FPS, SIZE)
    root = tmp_path / "root"
    outcome = cli("prepare", folder, "--out", root)
    assert outcome.exit_code == 0, outcome.stderr
    assert "clip.avi -> clip_avi" in outcome.stderr and "clip.mp4 -> clip_mp4" in outcome.stderr
    entries = {entry.video: entry.num_frames for entry in read_fold_list(root / "fold_lists" / "User_list_test_1_fps.txt")}
    assert entries == {"clip_avi": 4, "clip_mp4": 3}
    (folder / "clip.MP4").write_bytes((folder / "clip.mp4").read_bytes())  # equal even with the extension
    outcome = cli("prepare", folder, "--out", tmp_path / "other")
    assert outcome.exit_code == 0, outcome.stderr
    entries = read_fold_list(tmp_path / "other" / "fold_lists" / "User_list_test_1_fps.txt").videos
    assert len(set(entries)) == 3 and "clip_avi" in entries
    assert all(name.startswith("clip_mp4_") and len(name) == len("clip_mp4_") + 6 for name in entries if name != "clip_avi")


def test_prepare_never_takes_or_replaces_the_frames_of_another_video(cli, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    make_video(first / "a b.mp4", 4, FPS, SIZE)
    make_video(second / "a_b.mp4", 4, FPS, (64, 48))  # as many frames: an earlier version reused the first's
    root = tmp_path / "root"
    assert cli("prepare", first, "--out", root).exit_code == 0
    frames = root / "video_frames" / "User" / "a_b"
    stamp = (frames / "img_00001.jpg").stat().st_mtime_ns
    assert_rejected(cli("prepare", second, "--out", root), str(frames), "'a b.mp4'", "'a_b.mp4'", "--overwrite")
    assert (frames / "img_00001.jpg").stat().st_mtime_ns == stamp
    assert json.loads((frames / ".prepared.json").read_text())["file"] == "a b.mp4"
    again = cli("prepare", first, "--out", root)  # the same file again: reused
    assert again.exit_code == 0 and "already prepared" in again.stderr
    assert cli("prepare", second, "--out", root, "--overwrite").exit_code == 0
    assert json.loads((frames / ".prepared.json").read_text())["file"] == "a_b.mp4"


def test_prepare_of_a_symlink_loop_names_the_loop(cli, tmp_path):
    assert_rejected(cli("prepare", _loop(tmp_path), "--out", tmp_path / "root"), "symbolic link loop")


# ---------------------------------------------------------------------- data check: DHF1K
@pytest.mark.parametrize("layout", ["official", "flat", "parts"])
def test_data_check_validates_every_dhf1k_layout(cli, tmp_path, layout):
    root = make_dhf1k(tmp_path / "dhf1k", layout, {601: 4, 12: 3})
    outcome = cli("data", "check", root, "--decode")
    assert outcome.exit_code == 0, outcome.stderr
    assert "DHF1K" in outcome.stdout and "no problems" in outcome.stdout
    assert "99 of the 100 val videos (0601-0700) absent" in outcome.stdout


def test_data_check_names_each_dhf1k_problem(cli, tmp_path):
    root = make_dhf1k(tmp_path / "dhf1k", "parts", {601: 4, 602: 4, 12: 3})
    (root / "val" / "0601" / "fixation" / "0004.png").unlink()
    (root / "val" / "0602" / "maps" / "0002.png").unlink()
    (root / "train" / "0012" / "images" / "0003.png").unlink()
    outcome = cli("data", "check", root)
    assert outcome.exit_code == 1
    problems = [line for line in outcome.stderr.splitlines() if line.startswith("problem:")]
    assert any(f"{root / 'val' / '0601' / 'fixation'}: 3 fixation maps but the images folder has 4" in line
               for line in problems), problems
    assert any(f"{root / 'val' / '0602' / 'maps' / '0002.png'}: maps missing" in line for line in problems), problems
    assert any(f"{root / 'train' / '0012' / 'maps'}: 3 maps but the images folder has 2" in line for line in problems)


def test_dhf1k_training_names_every_bad_video(tmp_path):
    root = make_dhf1k(tmp_path / "dhf1k", "flat", {601: 3, 602: 3, 603: 3})
    for number in (601, 603):
        (root / f"{number:04d}" / "fixation" / "0003.png").unlink()
    with pytest.raises(DatasetError, match="2 video\\(s\\) with problems: .*0601/fixation.*; .*0603/fixation"):
        DHF1KDataset(root, "val")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert DHF1KDataset(root, "val", skip_bad=True).videos == ["0602"]


# ---------------------------------------------------------------------- data check: decoding
def test_decode_finds_black_maps_with_fixations_and_maps_of_another_size(cli, tmp_path):
    root = make_stavis(tmp_path / "data", {"v1": 4, "v2": 3})
    annotations = root / "annotations" / "DB"
    assert cli("data", "check", root, "--decode", "--audio-optional").exit_code == 0
    black = annotations / "v1" / "maps" / "eyeMap_00002.jpg"
    write_saliency_map(black, np.zeros((SIZE[1], SIZE[0])))
    small = annotations / "v2" / "maps" / "eyeMap_00003.jpg"
    write_saliency_map(small, ground_truth(2, (40, 24))[1])
    assert cli("data", "check", root, "--audio-optional").exit_code == 0  # counting cannot see either
    outcome = cli("data", "check", root, "--decode", "--audio-optional")
    assert outcome.exit_code == 1
    problems = [line for line in outcome.stderr.splitlines() if line.startswith("problem:")]
    assert f"problem: {black}: all-black map, but {annotations / 'v1' / 'fixMap_00002.mat'} has 2 fixation(s)" in problems
    assert any(line.startswith(f"problem: {small}: map is 40x24, but {annotations / 'v2' / 'maps' / 'eyeMap_00001.jpg'} "
                               "is 80x48") for line in problems), problems


def test_data_check_names_every_missing_video(cli, tmp_path):
    root = make_stavis(tmp_path / "data", {"v1": 2, "v2": 2, "v3": 2})
    lists = root / "fold_lists" / "DB_list_test_1_fps.txt"
    lists.write_text(lists.read_text() + "ghost1 2 5\nghost2 2 5\n")
    outcome = cli("data", "check", root, "--audio-optional")
    assert outcome.exit_code == 1
    for ghost in ("ghost1", "ghost2"):
        assert f"{root / 'video_frames' / 'DB' / ghost}: frames folder missing" in outcome.stderr


def test_data_check_of_a_symlink_loop_names_the_loop(cli, tmp_path):
    assert_rejected(cli("data", "check", _loop(tmp_path)), "symbolic link loop")


def test_prepare_keeps_the_name_a_video_got_earlier_when_files_are_added(cli, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "clip.mp4", 3, FPS, SIZE)
    root = tmp_path / "root"
    assert cli("prepare", folder / "clip.mp4", "--out", root).exit_code == 0
    make_video(folder / "clip.avi", 4, FPS, SIZE)
    outcome = cli("prepare", folder, "--out", root)
    assert outcome.exit_code == 0, outcome.stderr
    entries = {entry.video: entry.num_frames for entry in read_fold_list(root / "fold_lists" / "User_list_test_1_fps.txt")}
    assert entries == {"clip": 3, "clip_avi": 4}  # clip.mp4 stays "clip": listed once
    assert sorted(path.name for path in (root / "video_frames" / "User").iterdir()) == ["clip", "clip_avi"]


def test_a_symlink_loop_inside_a_dataset_tree_is_named_as_one(cli, tmp_path):
    root = make_stavis(tmp_path / "root", {"v1": 3, "v2": 3})
    frames = root / "video_frames" / "DB" / "v2"
    for path in frames.iterdir():
        path.unlink()
    frames.rmdir()
    os.symlink(frames, frames)  # a link to itself: a loop
    outcome = cli("data", "check", root, "--audio-optional")
    assert outcome.exit_code == 1
    assert f"{frames}: frames folder unreadable: symbolic link loop" in outcome.stdout + outcome.stderr
    maps = root / "annotations" / "DB" / "v1" / "maps"
    for path in maps.iterdir():
        path.unlink()
    maps.rmdir()
    os.symlink(maps, maps)
    outcome = cli("evaluate", root, tmp_path / "root", "--split", "1", "--out", tmp_path / "e")
    assert_rejected(outcome, f"{maps}: annotation folder of DB/v1 unreadable: symbolic link loop")


def test_prepare_warns_that_a_variable_frame_rate_is_flattened(cli, tmp_path):
    times = [0, 40, 80, 400, 440, 480, 520, 900]  # ms: two long pauses
    video = make_video(tmp_path / "vfr.mkv", len(times), 25, SIZE, frame_times_ms=times)
    outcome = cli("prepare", video, "--out", tmp_path / "root")
    assert outcome.exit_code == 0, outcome.stderr
    warning = [line for line in outcome.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "variable frame rate" in warning[0]
    steady = make_video(tmp_path / "cfr.mp4", 8, 25, SIZE)
    assert "warning" not in cli("prepare", steady, "--out", tmp_path / "root2").stderr
