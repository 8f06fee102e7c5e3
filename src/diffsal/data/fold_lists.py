"""The STAViS fold lists: which videos of a database are in the train/test part of a split.

Files are named by `diffsal.data.layout.fold_list_path` (DIEM has a single split), one
``name n_frames fps`` line per video. Published lists
have blank lines, missing final newlines, and videos listed twice; each file is parsed on its own
and duplicates within a file are dropped and reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from diffsal.data.layout import SINGLE_SPLIT_DATABASES, SPLITS, Part, fold_list_path
from diffsal.errors import InputError

AV_DATABASES = ("AVAD", "Coutrot_db1", "Coutrot_db2", "DIEM", "ETMD_av", "SumMe")
__all__ = ["AV_DATABASES", "SINGLE_SPLIT_DATABASES", "SPLITS", "FoldEntry", "FoldList", "Part", "fold_list_path",
           "read_fold_list", "read_fold_list_reporting"]


@dataclass(frozen=True)
class FoldEntry:
    video: str
    num_frames: int
    fps: float


@dataclass
class FoldList:
    """The videos of one fold-list file, in file order, each once."""

    path: Path
    entries: list[FoldEntry]
    duplicates: list[str] = field(default_factory=list)  # names listed more than once (kept once)

    @property
    def videos(self) -> list[str]:
        return [entry.video for entry in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)


def read_fold_list(path: str | Path) -> FoldList:
    """Parse one fold-list file.

    Raises:
        InputError: missing file, or a line that is not ``name n_frames fps`` with n_frames >= 1
            and fps > 0 (the message names file and line).
    """
    return _read(path, keep_going=False)[0]


def read_fold_list_reporting(path: str | Path) -> tuple[FoldList, list[str]]:
    """Like `read_fold_list`, but a bad line is left out and described instead of raising.

    Returns:
        The list of the good lines, and one message per bad line (naming file and line). A missing
        or unreadable file still raises `InputError`.
    """
    return _read(path, keep_going=True)


def _read(path: str | Path, keep_going: bool) -> tuple[FoldList, list[str]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise InputError(f"{path}: fold list not found") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read fold list ({error})") from error
    entries: list[FoldEntry] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    problems: list[str] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            entry = _parse_line(fields, f"{path}:{line_number}")
        except InputError as error:
            if not keep_going:
                raise
            problems.append(str(error))
            continue
        if entry.video in seen:
            duplicates.append(entry.video)
            continue
        seen.add(entry.video)
        entries.append(entry)
    return FoldList(path, entries, duplicates), problems


def _parse_line(fields: list[str], where: str) -> FoldEntry:
    if len(fields) != 3:
        raise InputError(f"{where}: expected 'name n_frames fps', got {' '.join(fields)!r}")
    name, frames_text, fps_text = fields
    try:
        num_frames = int(frames_text)
        fps = float(fps_text)
    except ValueError as error:
        raise InputError(f"{where}: n_frames must be an integer and fps a number, got {frames_text!r} {fps_text!r}") from error
    if num_frames < 1:
        raise InputError(f"{where}: n_frames must be >= 1, got {num_frames}")
    if not math.isfinite(fps) or fps <= 0:
        raise InputError(f"{where}: fps must be positive, got {fps_text}")
    return FoldEntry(name, num_frames, fps)


@dataclass
class SplitCoverage:
    """Which videos of a database its test lists score, split by split.

    Built from every test (and, where present, train) list of the database. Published lists
    test some AVAD videos twice or never, and leave some SumMe videos out of both lists of a
    split; this makes those cases visible instead of silently double-counting or dropping them.
    """

    database: str
    test_lists: dict[int, FoldList]  # split -> its test list (DIEM: the same list for every split)
    train_lists: dict[int, FoldList]  # split -> its train list, for the splits whose file exists

    @property
    def single_split(self) -> bool:
        return self.database in SINGLE_SPLIT_DATABASES

    @property
    def tested_in(self) -> dict[str, tuple[int, ...]]:
        """Video -> the splits whose test list names it, in first-listed order of videos."""
        splits: dict[str, list[int]] = {}
        for split, fold_list in sorted(self.test_lists.items()):
            for video in fold_list.videos:
                splits.setdefault(video, []).append(split)
        return {video: tuple(found) for video, found in splits.items()}

    @property
    def tested_more_than_once(self) -> list[str]:
        """Videos in the test lists of two or more different splits (never for a single-split database)."""
        if self.single_split:
            return []
        return [video for video, splits in self.tested_in.items() if len(splits) > 1]

    @property
    def never_tested(self) -> list[str]:
        """Videos named by some train list but by no test list."""
        tested = self.tested_in
        listed = {video for fold_list in self.train_lists.values() for video in fold_list.videos}
        return sorted(listed - tested.keys())

    @property
    def in_neither_list(self) -> dict[int, list[str]]:
        """Split -> videos of the database (named in any list) that neither list of that split names."""
        everything = {video for fold_list in (*self.test_lists.values(), *self.train_lists.values())
                      for video in fold_list.videos}
        result = {}
        for split, test_list in sorted(self.test_lists.items()):
            train_list = self.train_lists.get(split)
            if train_list is None:
                continue
            left_out = sorted(everything - set(test_list.videos) - set(train_list.videos))
            if left_out:
                result[split] = left_out
        return result

    def entry(self, video: str) -> FoldEntry:
        """The test-list entry of `video` (from the first split that tests it)."""
        for _, fold_list in sorted(self.test_lists.items()):
            for entry in fold_list.entries:
                if entry.video == video:
                    return entry
        raise InputError(f"{video!r} is in no test list of {self.database}")

    def to_dict(self) -> dict:
        return {
            "test_lists": {str(split): str(fold_list.path) for split, fold_list in sorted(self.test_lists.items())},
            "tested_in": {video: list(splits) for video, splits in self.tested_in.items()},
            "tested_more_than_once": self.tested_more_than_once,
            "never_tested": self.never_tested,
            "in_neither_list": {str(split): videos for split, videos in self.in_neither_list.items()},
            "duplicates_within_a_list": {str(fold_list.path): fold_list.duplicates
                                         for fold_list in (*self.test_lists.values(), *self.train_lists.values())
                                         if fold_list.duplicates},
        }


def split_coverage(root: str | Path, database: str, splits: tuple[int, ...] = SPLITS) -> SplitCoverage:
    """Read the test lists (required) and train lists (optional) of `database` for `splits`.

    A single-split database (DIEM) uses its one test list for every split, as STAViS scores the
    three split models on the same videos.

    Raises:
        InputError: a missing test list or a malformed line (naming file and line).
    """
    cache: dict[Path, FoldList] = {}

    def read_once(path: Path) -> FoldList:
        if path not in cache:
            cache[path] = read_fold_list(path)
        return cache[path]

    test_lists = {split: read_once(fold_list_path(root, database, "test", split)) for split in splits}
    train_lists = {}
    for split in splits:
        path = fold_list_path(root, database, "train", split)
        if path.is_file():
            train_lists[split] = read_once(path)
    return SplitCoverage(database, test_lists, train_lists)
