"""One video of a dataset as a compact record (paths and numbers, no pixels), and its sanity checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diffsal.data.layout import count_numbered
from diffsal.io.frame_folder import FrameFolder
from diffsal.io.frame_source import FrameSource
from diffsal.io.paths import absence
from diffsal.io.video import VideoReader


@dataclass(frozen=True)
class VideoRecord:
    """Where the parts of one video are.

    Attributes:
        frames: a folder of numbered frames (`frame_pattern`), or a video file when
            `frame_pattern` is None.
        audio: a wav (or any media file) with the sound track; None when the video has none.
        maps / fixations: folders of the continuous and binary maps, numbered by `map_pattern` /
            `fixation_pattern` (1-based); None without annotations. Without a pattern (the challenge layout)
            `maps` is one video of maps and `fixations` a JSON list of fixation positions per frame.
        num_frames: frames the dataset samples targets from.
        fps: frame rate (from the fold list; nominal for a video file).
        splits: the STAViS splits whose fold list (of the part asked for) names the video.
        wav: where the STAViS tree has (or should have) the video's wav, usable or not.
        number: a DHF1K video's number.
    """

    dataset: str
    video: str
    fps: float
    num_frames: int
    frames: str
    frame_pattern: str | None
    audio: str | None = None
    maps: str | None = None
    map_pattern: str = ""
    fixations: str | None = None
    fixation_pattern: str = ""
    splits: tuple[int, ...] = ()
    wav: str | None = None
    number: int | None = None

    @property
    def is_file(self) -> bool:
        """True when `frames` is a video file (decoded directly), not a folder of numbered frames."""
        return self.frame_pattern is None

    def open_frames(self) -> FrameSource:
        """A reader of the frames: the video file, or the folder of numbered frames (close it after use)."""
        if self.is_file:
            return VideoReader(self.frames)
        return FrameFolder(self.frames, self.fps, self.frame_pattern)

    @property
    def maps_in_video(self) -> bool:
        """True when the maps are one video and the fixations one list (`diffsal.data.ground_truth` reads both)."""
        return self.maps is not None and not self.map_pattern

    def map_path(self, index: int) -> Path:
        return Path(self.maps) / self.map_pattern.format(index + 1)

    def fixation_path(self, index: int) -> Path:
        return Path(self.fixations) / self.fixation_pattern.format(index + 1)


VIDEOS_NAMED = 5  # how many problem videos one error message names before counting the rest


def folder_problems(folder: Path, pattern: str, what: str, expected: int | None,
                    expected_from: str = "the fold list says") -> list[str]:
    """Problems of a numbered-file folder: missing, empty, gaps in the numbering, a count other
    than `expected` (which `expected_from` names). Each message starts with the path it is about."""
    if not folder.is_dir():
        return [f"{folder}: {what} folder {absence(folder)}"]
    count, gaps = count_numbered(folder, pattern)
    if count == 0:
        return [f"{folder}: no {what} named like {pattern.format(1)}"]
    problems = []
    if gaps:
        problems.append(f"{folder / pattern.format(gaps[0])}: {what} missing ({len(gaps)} gap(s) in the numbering)")
    if expected is not None and count != expected:
        problems.append(f"{folder}: {count} {what} but {expected_from} {expected} frames")
    return problems


def summarise(problems: list[str]) -> str:
    """One line for a video's problems: the first one, and how many more there are."""
    more = len(problems) - 1
    return problems[0] + (f" (and {more} more problem(s) with this video)" if more else "")


def summarise_videos(summaries: list[str], limit: int = VIDEOS_NAMED) -> str:
    """One line for several videos' problems (one `summarise` line each): the first `limit`, then a count."""
    more = len(summaries) - limit
    head = f"{len(summaries)} video(s) with problems: " if len(summaries) > 1 else ""
    return head + "; ".join(summaries[:limit]) + (f"; and {more} more" if more > 0 else "")
