"""Files diffsal writes and paths it is given: permissions, long names, links, output folders that are files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import assert_rejected
from media import make_video

from diffsal.errors import InputError
from diffsal.io.atomic import atomic_output, file_mode
from diffsal.io.paths import check_input_path, check_output_folder


def test_atomic_files_get_the_umask_permissions_not_private_ones(tmp_path):
    with atomic_output(tmp_path / "shared.json") as temporary:
        temporary.write_text("{}")
    mode = stat.S_IMODE((tmp_path / "shared.json").stat().st_mode)
    assert mode == file_mode()
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert mode == stat.S_IMODE(plain.stat().st_mode), "the same bits as a plainly created file"


def test_atomic_output_works_for_a_name_at_the_length_limit(tmp_path):
    name = "v" * 240 + ".json"
    with atomic_output(tmp_path / name) as temporary:
        assert len(temporary.name.encode()) <= 255
        temporary.write_text("{}")
    assert (tmp_path / name).read_text() == "{}"
    assert [path.name for path in tmp_path.iterdir()] == [name]


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "a.json") as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_output_folder_checks_create_nothing(tmp_path):
    target = tmp_path / "new" / "deeper"
    assert check_output_folder(target) == target
    assert not (tmp_path / "new").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        check_output_folder(tmp_path / "file" / "out")


def test_an_output_where_nothing_can_be_created_is_refused_before_any_work(cli, tmp_path):
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc")
    outcome = cli("evaluate", tmp_path, "center-prior", "--out", "/proc/diffsal-out")
    assert_rejected(outcome, "/proc", "nothing can be written there")
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_loop_is_named_as_one(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(InputError, match="symbolic link loop"):
        check_input_path(tmp_path / "a")
    with pytest.raises(InputError, match="symbolic link loop"):
        check_output_folder(tmp_path / "a")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    with pytest.raises(InputError, match="dangling"):
        check_input_path(tmp_path / "dangling")


def test_synth_into_a_file_is_refused_before_any_work(cli, tmp_path):
    (tmp_path / "file").write_text("x")
    assert_rejected(cli("synth", "--out", tmp_path / "file", "--videos", "2"), "is a file")
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize("argv, fragment", [
    (["synth", "--out", "OUT", "--videos", "0"], "--videos"),
    (["synth", "--out", "OUT", "--fps", "nan"], "--fps"),
    (["synth", "--out", "OUT", "--seconds", "-1"], "--seconds"),
    (["predict", "IN", "--model", "M", "--eta", "nan"], "--eta"),
    (["predict", "IN", "--model", "M", "--samples", "0"], "--samples"),
    (["predict", "IN", "--model", "M", "--batch-size", "x"], "--batch-size"),
    (["evaluate", "D", "P", "--blur-sigma", "inf"], "--blur-sigma"),
    (["evaluate", "D", "P", "--threads", "0"], "--threads"),
    (["info", "--batch-size", "-3"], "--batch-size"),
    (["predict", "IN", "--model", "M", "--seed", "18446744073709551616"], "--seed"),
    (["predict", "IN", "--model", "M", "--threads", "100000"], "--threads"),
    (["evaluate", "D", "P", "--auc-splits", "100000000000"], "--auc-splits"),
    (["evaluate", "D", "P", "--blur-sigma", "1e300"], "--blur-sigma"),
])
def test_numeric_flags_are_checked_when_parsed(cli, tmp_path, argv, fragment):
    outcome = cli(*[str(tmp_path / word) if word in ("OUT", "IN", "M", "D", "P") else word for word in argv])
    assert_rejected(outcome, fragment)
    assert list(tmp_path.iterdir()) == []


def test_an_output_entry_of_the_wrong_kind_is_refused_before_any_work(cli, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "metrics.json").mkdir()
    (tmp_path / "out" / "fold_lists").write_text("x")
    with pytest.raises(InputError, match="metrics.json: is a folder"):
        check_output_folder(tmp_path / "out", files=("metrics.json",))
    with pytest.raises(InputError, match="fold_lists: is a file"):
        check_output_folder(tmp_path / "out", folders=("fold_lists",))
    check_output_folder(tmp_path / "out", files=("per_video.csv",), folders=("metrics.json",))
    outcome = cli("prepare", tmp_path / "missing.mp4", "--out", tmp_path / "out")
    assert outcome.exit_code == 2  # the input is checked first; then the output tree:
    video = make_video(tmp_path / "clip.mp4", num_frames=3)
    assert_rejected(cli("prepare", video, "--out", tmp_path / "out"), "fold_lists: is a file")
    assert not (tmp_path / "out" / "video_frames").exists()
