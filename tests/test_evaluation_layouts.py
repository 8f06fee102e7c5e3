"""Which videos are scored: the split coverage of the fold lists and the DHF1K splits."""

from diffsal.data.fold_lists import split_coverage


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_coverage_survives_the_published_quirks(tmp_path):
    lists = tmp_path / "fold_lists"
    # AVAD-like: 'b' tested by splits 1 and 2, 'e' never tested; blank lines, no final newline.
    _write(lists, "AVAD_list_test_1_fps.txt", "a 10 25\nb 12 30\n\n")
    _write(lists, "AVAD_list_test_2_fps.txt", "\nb 12 30\nc 9 25")
    _write(lists, "AVAD_list_test_3_fps.txt", "d 8 25\nd 8 25\n")
    _write(lists, "AVAD_list_train_1_fps.txt", "c 9 25\nd 8 25\ne 5 25")
    _write(lists, "AVAD_list_train_2_fps.txt", "a 10 25\nd 8 25\ne 5 25\n")
    # split 3 train list leaves out 'a' and 'e' (SumMe-like: in neither list of the split)
    _write(lists, "AVAD_list_train_3_fps.txt", "b 12 30\nc 9 25\n")
    coverage = split_coverage(tmp_path, "AVAD")
    assert coverage.tested_in == {"a": (1,), "b": (1, 2), "c": (2,), "d": (3,)}
    assert coverage.tested_more_than_once == ["b"]
    assert coverage.never_tested == ["e"]
    assert coverage.in_neither_list == {3: ["a", "e"]}
    assert coverage.entry("b").num_frames == 12
    report = coverage.to_dict()
    assert report["duplicates_within_a_list"] == {str(lists / "AVAD_list_test_3_fps.txt"): ["d"]}


def test_single_split_database_uses_one_list_for_all_splits(tmp_path):
    lists = tmp_path / "fold_lists"
    _write(lists, "DIEM_list_test_fps.txt", "x 10 30\ny 10 30")
    coverage = split_coverage(tmp_path, "DIEM")
    assert coverage.tested_in == {"x": (1, 2, 3), "y": (1, 2, 3)}
    assert coverage.tested_more_than_once == []
    assert coverage.train_lists == {}
    assert coverage.never_tested == []
