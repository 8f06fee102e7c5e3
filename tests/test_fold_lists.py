import pytest

from diffsal.data.fold_lists import fold_list_path, read_fold_list
from diffsal.errors import InputError


def test_reads_entries_skipping_blank_lines_without_final_newline(tmp_path):
    path = tmp_path / "AVAD_list_test_1_fps.txt"
    path.write_text("\nvideo_a 120 29.97\n\n  \nvideo_b 75 25", encoding="utf-8")
    fold_list = read_fold_list(path)
    assert fold_list.videos == ["video_a", "video_b"]
    assert fold_list.entries[0].num_frames == 120
    assert fold_list.entries[0].fps == pytest.approx(29.97)
    assert fold_list.duplicates == []


def test_duplicates_within_a_file_are_kept_once_and_reported(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("a 10 25\nb 10 25\na 10 25\n")
    fold_list = read_fold_list(path)
    assert fold_list.videos == ["a", "b"]
    assert fold_list.duplicates == ["a"]


@pytest.mark.parametrize(
    "line, message",
    [("a 10", "expected 'name n_frames fps'"), ("a ten 25", "integer"), ("a 10 0", "fps must be positive"),
     ("a 0 25", "n_frames must be >= 1"), ("a 10 nan", "fps must be positive")],
)
def test_bad_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "list.txt"
    path.write_text(f"ok 5 25\n{line}\n")
    with pytest.raises(InputError, match=message) as raised:
        read_fold_list(path)
    assert f"{path}:2" in str(raised.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="fold list not found"):
        read_fold_list(tmp_path / "absent.txt")


def test_paths_follow_the_stavis_naming(tmp_path):
    assert fold_list_path(tmp_path, "AVAD", "train", 2).name == "AVAD_list_train_2_fps.txt"
    assert fold_list_path(tmp_path, "DIEM", "test", 3).name == "DIEM_list_test_fps.txt"
    with pytest.raises(InputError):
        fold_list_path(tmp_path, "AVAD", "val", 1)
    with pytest.raises(InputError):
        fold_list_path(tmp_path, "AVAD", "test", 4)
