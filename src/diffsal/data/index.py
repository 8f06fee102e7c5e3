"""The one index of a dataset tree: `index_dataset(root, databases, split, part)` -> the videos as typed
`VideoRecord`s (paths, frame count, fps, fold membership, audio) and the problems found.

Three trees are understood: the STAViS layout (fold lists name the videos of each split and part),
DHF1K in either of its layouts (`find_dhf1k_videos`) and the challenge layout (``TrainTestSplit.json`` names
the videos of each part: `diffsal.data.challenge`). Every path comes from `diffsal.data.layout`.
Training datasets, ``predict`` on a dataset, ``evaluate`` and ``data check`` read the tree through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from diffsal.data.challenge import challenge_candidates
from diffsal.data.fold_lists import FoldEntry, read_fold_list, read_fold_list_reporting
from diffsal.data.layout import (CHALLENGE_NAME, STAVIS_FRAME_PATTERN, DHF1K_EXTRACTED_PARENTS, DHF1K_FPS, DHF1K_IMAGE_PATTERNS, DHF1K_NAME,
                                 DHF1K_OFFICIAL_ANNOTATIONS, DHF1K_OFFICIAL_VIDEOS, DHF1K_PARTS, DHF1K_PATTERN,
                                 DHF1K_VIDEO_SUFFIXES, EYE_MAP_PATTERN, FIX_MAP_PATTERN, FIXATIONS_DIR, IMAGES_DIR,
                                 MAPS_DIR, SPLITS, StavisLayout, count_numbered, dhf1k_name, dhf1k_part,
                                 dhf1k_pattern, is_challenge_root)
from diffsal.data.video_record import VideoRecord, folder_problems, summarise, summarise_videos
from diffsal.data.sampling import validation_videos
from diffsal.errors import DatasetError, InputError, MediaError
from diffsal.io.paths import absence
from diffsal.io.video import VideoReader

AudioPolicy = Literal["required", "optional", "none"]
StavisPart = Literal["train", "val", "test"]
_VIDEO_SUFFIXES = DHF1K_VIDEO_SUFFIXES
SKIP_BAD_HINT = " (skip_bad / data.skip_bad leaves such videos out)"


@dataclass
class Index:
    """What `index_dataset` found: the usable videos' records and, per video with problems, its record and problems;
    `problems` are those about the tree itself (bad fold-list lines, unreadable lists, with ``skip_bad``)."""

    candidates: list[tuple[VideoRecord, list[str]]]
    problems: list[str]

    @property
    def records(self) -> list[VideoRecord]:
        return [record for record, problems in self.candidates if not problems]

    @property
    def all_records(self) -> list[VideoRecord]:
        return [record for record, _ in self.candidates]

    @property
    def skipped(self) -> list[str]:
        """One line per problem of the tree and per unusable video (`summarise`)."""
        return self.problems + [summarise(problems) for _, problems in self.candidates if problems]

    def usable(self, skip_bad: bool, no_usable: str) -> tuple[list[VideoRecord], list[str]]:
        """(records, skipped): the usable records, and the lines about what was left out.

        Raises:
            DatasetError: something was left out and not `skip_bad` (the first few named); or nothing is
                usable (`no_usable`, followed by the skipped lines when there are any).
        """
        skipped = self.skipped
        if skipped and not skip_bad:
            raise DatasetError(summarise_videos(skipped) + SKIP_BAD_HINT)
        records = self.records
        if not records:
            raise DatasetError(no_usable + (f"; skipped: {'; '.join(skipped)}" if skipped else ""))
        return records, skipped


def index_dataset(root: str | Path, databases: str | Sequence[str] | None = None, split: int | str = 1,
            part: str = "test", *, annotations: bool = True, audio: AudioPolicy = "required",
            validation_fraction: float = 0.1, validation_seed: int = 0, strict: bool = True,
            check: bool = True) -> Index:
    """The videos of one split and part of a dataset tree, and the problems found.

    Args:
        databases: STAViS database names (None: every one with fold lists); for DHF1K None or "DHF1K"; for the
            challenge layout None or "Challenge".
        split: STAViS 1, 2, 3 or "all" (the union of the three lists, each video once; a split whose
            list is absent is left out); not used by DHF1K.
        part: STAViS "train" (the split's training list minus the held-out validation videos), "val" (those
            held out, `validation_fraction` / `validation_seed`) or "test"; DHF1K "train", "val", "test"
            (`DHF1K_PARTS`) or "all"; challenge "train", "public_test", "private_test" or "test" (both).
        annotations: the records name (and `check` checks) the maps.
        audio: STAViS "required" (a missing wav is a problem), "optional" or "none" (no audio in the records).
        strict: a bad or missing fold list raises `InputError`; otherwise it is one line of `Index.problems`.
        check: count each video's files for the problems (otherwise only the paths are resolved).
    """
    root = Path(root)
    names = [databases] if isinstance(databases, str) else list(databases or ())
    if names in ([], [CHALLENGE_NAME]) and is_challenge_root(root):
        return Index(challenge_candidates(root, part, annotations=annotations, check=check,
                                          validation_fraction=validation_fraction if part in ("train", "val") else 0.0,
                                          validation_seed=validation_seed), [])
    if names in ([], [DHF1K_NAME]) and is_dhf1k_root(root) and not StavisLayout(root).fold_lists():
        return dhf1k_index(root, part, annotations=annotations, check=check)
    return stavis_index(root, names or None, split, part, annotations=annotations, audio=audio,
                        validation_fraction=validation_fraction, validation_seed=validation_seed,
                        strict=strict, check=check)


def stavis_index(root: str | Path, databases: Sequence[str] | None, split: int | str, part: str, *,
                 annotations: bool = True, audio: AudioPolicy = "required", validation_fraction: float = 0.1,
                 validation_seed: int = 0, strict: bool = True, check: bool = True) -> Index:
    """`index_dataset` for a root in the STAViS layout."""
    layout = StavisLayout(root)
    splits = SPLITS if split == "all" else (int(split),)
    found: dict[tuple[str, str], tuple[VideoRecord, list[str]]] = {}
    problems: list[str] = []
    for database in databases if databases is not None else sorted(layout.fold_lists()):
        for number in splits:
            path = layout.fold_list(database, "test" if part == "test" else "train", number)
            if split == "all" and not path.is_file():
                continue
            if strict:
                fold_list = read_fold_list(path)
            else:
                try:
                    fold_list, list_problems = read_fold_list_reporting(path)
                except InputError as error:
                    problems.append(str(error))
                    continue
                problems += list_problems
            entries = fold_list.entries
            if part != "test":
                held_out = set(validation_videos(fold_list.videos, validation_fraction, validation_seed))
                entries = [entry for entry in entries if (entry.video in held_out) == (part == "val")]
            for entry in entries:
                known = found.get((database, entry.video))
                if known is not None:
                    found[database, entry.video] = (replace(known[0], splits=(*known[0].splits, number)), known[1])
                    continue
                record, video_problems = stavis_record(layout, database, entry, annotations, audio, check)
                found[database, entry.video] = (replace(record, splits=(number,)), video_problems)
    return Index(list(found.values()), problems)


def dhf1k_index(root: str | Path, part: str, *, annotations: bool = True, check: bool = True) -> Index:
    """`index_dataset` for a DHF1K root: its videos of `part` ("all": every part) that have frames."""
    parts = tuple(DHF1K_PARTS) if part == "all" else (part,)
    return Index([dhf1k_record(video, annotations, check) for video in find_dhf1k_videos(root, parts)
                  if video.frames is not None], [])


@dataclass(frozen=True)
class DHF1KVideo:
    """One DHF1K video as found on disk.

    Attributes:
        number: 1..1000.
        frames: the video file (official layout) or its ``images/`` folder (extracted); None when
            only its annotations are there.
        annotation: the folder that holds (or should hold) its ``maps/`` and ``fixation/``.
    """

    number: int
    frames: Path | None
    annotation: Path

    @property
    def name(self) -> str:
        """The video's name everywhere (records, prediction folders, reports): 4 digits, ``0601``."""
        return dhf1k_name(self.number)

    @property
    def part(self) -> str:
        return dhf1k_part(self.number)

    @property
    def is_file(self) -> bool:
        """True for a video file (decoded directly), False for a folder of images."""
        return self.frames is not None and self.frames.suffix.lower() in _VIDEO_SUFFIXES

    @property
    def maps(self) -> Path:
        return self.annotation / MAPS_DIR

    @property
    def fixations(self) -> Path:
        return self.annotation / FIXATIONS_DIR

    @property
    def annotated(self) -> bool:
        return self.maps.is_dir()

    def frame_pattern(self) -> str | None:
        """``{:04d}.png`` or ``{:04d}.jpg`` for an images folder (whichever it holds); None for a video file."""
        if self.frames is None or self.is_file:
            return None
        for pattern in DHF1K_IMAGE_PATTERNS:
            if count_numbered(self.frames, pattern)[0]:
                return pattern
        return DHF1K_PATTERN


def part_numbers(parts: Iterable[str]) -> set[int]:
    """The video numbers of DHF1K `parts` ("train", "val", "test")."""
    numbers: set[int] = set()
    for part in parts:
        if part not in DHF1K_PARTS:
            raise InputError(f"DHF1K part must be one of {', '.join(DHF1K_PARTS)}, got {part!r}")
        numbers.update(DHF1K_PARTS[part])
    return numbers


def find_dhf1k_videos(root: str | Path, parts: Iterable[str] = tuple(DHF1K_PARTS)) -> list[DHF1KVideo]:
    """The DHF1K videos of `parts` under `root`, in number order, from either layout.

    A video is listed when its frames (``video/NNN.AVI`` or ``NNNN/images/``) or its annotation
    folder (``annotation/NNNN/`` or ``NNNN/`` with ``maps/`` or ``fixation/``) exist. Where a video
    is found twice (``train/0001`` and ``0001``), the first place in the order official, flat,
    ``train/``, ``val/``, ``test/`` wins.
    """
    root = Path(root)
    wanted = part_numbers(parts)
    frames: dict[int, Path] = {}
    annotations: dict[int, Path] = {}
    official = root / DHF1K_OFFICIAL_VIDEOS
    if official.is_dir():
        for path in sorted(official.iterdir()):
            if path.suffix.lower() in _VIDEO_SUFFIXES and path.stem.isdigit() and path.is_file():
                frames.setdefault(int(path.stem), path)
    for parent in DHF1K_EXTRACTED_PARENTS:
        folder = root / parent
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if not (entry.name.isdigit() and entry.is_dir()):
                continue
            number = int(entry.name)
            if (entry / IMAGES_DIR).is_dir():
                frames.setdefault(number, entry / IMAGES_DIR)
            if (entry / MAPS_DIR).is_dir() or (entry / FIXATIONS_DIR).is_dir():
                annotations.setdefault(number, entry)
    videos = []
    for number in sorted((frames.keys() | annotations.keys()) & wanted):
        path = frames.get(number)
        default = path.parent if path is not None and path.name == IMAGES_DIR else root / DHF1K_OFFICIAL_ANNOTATIONS / dhf1k_name(number)
        videos.append(DHF1KVideo(number, path, annotations.get(number, default)))
    return videos


def is_dhf1k_root(path: str | Path) -> bool:
    """True when `path` holds DHF1K videos or annotations in either layout."""
    path = Path(path)
    return path.is_dir() and bool(find_dhf1k_videos(path))


def stavis_record(layout: StavisLayout, database: str, entry: FoldEntry, annotations: bool, audio: AudioPolicy,
                  check: bool = True) -> tuple[VideoRecord, list[str]]:
    """The record of a fold-list entry and the problems that make it unusable (empty if none; not looked
    for without `check`)."""
    frames_dir = layout.frames_dir(database, entry.video)
    problems = folder_problems(frames_dir, STAVIS_FRAME_PATTERN, "frames", entry.num_frames) if check else []
    wav = layout.wav_path(database, entry.video)
    audio_path: str | None = None
    if audio != "none":
        if wav.is_file() and wav.stat().st_size > 0:
            audio_path = str(wav)
        elif audio == "required":
            problems.append(f"{wav}: wav {absence(wav)}" if not wav.exists() else f"{wav}: wav is empty or not a file")
    if annotations and check:
        maps_dir = layout.maps_dir(database, entry.video)
        problems += folder_problems(maps_dir, EYE_MAP_PATTERN, "eyeMaps", entry.num_frames)
        problems += folder_problems(layout.annotation_dir(database, entry.video), FIX_MAP_PATTERN, "fixMaps", entry.num_frames)
    record = VideoRecord(
        dataset=database,
        video=entry.video,
        fps=entry.fps,
        num_frames=entry.num_frames,
        frames=str(frames_dir),
        frame_pattern=STAVIS_FRAME_PATTERN,
        audio=audio_path,
        maps=str(layout.maps_dir(database, entry.video)) if annotations else None,
        map_pattern=EYE_MAP_PATTERN,
        fixations=str(layout.annotation_dir(database, entry.video)) if annotations else None,
        fixation_pattern=FIX_MAP_PATTERN,
        wav=str(wav),
    )
    return record, problems


def dhf1k_record(video: DHF1KVideo, annotations: bool, check: bool = True) -> tuple[VideoRecord, list[str]]:
    """The record of a video that has frames, and the problems that make it unusable (empty if none; not
    looked for without `check`).

    The frame count is the number of images, or for a video file the number of maps (the AVI is
    opened to count its frames only without annotations, and only with `check`).
    """
    if video.frames is None:
        raise InputError(f"{video.annotation}: DHF1K video {video.name} has no frames")
    problems: list[str] = []
    pattern = video.frame_pattern()
    if video.is_file:
        if video.frames.stat().st_size == 0:
            problems.append(f"{video.frames}: video file is empty")
        if annotations or not check:
            num_frames = count_numbered(video.maps, DHF1K_PATTERN)[0]
        else:
            num_frames = _count_video_frames(video.frames, problems)
        if annotations:
            problems += folder_problems(video.maps, DHF1K_PATTERN, "maps", None)
    else:
        problems += folder_problems(video.frames, pattern, "frames", None)
        num_frames = count_numbered(video.frames, pattern)[0]
        if annotations:
            problems += folder_problems(video.maps, DHF1K_PATTERN, "maps", num_frames, "the images folder has")
    if annotations:
        problems += folder_problems(video.fixations, DHF1K_PATTERN, "fixation maps", num_frames or None,
                                    "the maps folder has" if video.is_file else "the images folder has")
    record = VideoRecord(
        dataset=DHF1K_NAME, video=video.name, fps=DHF1K_FPS, num_frames=max(num_frames, 0),
        frames=str(video.frames), frame_pattern=pattern,
        maps=str(video.maps) if annotations else None, map_pattern=DHF1K_PATTERN,
        fixations=str(video.fixations) if annotations else None, fixation_pattern=DHF1K_PATTERN,
        number=video.number,
    )
    return record, problems if check else []


def _count_video_frames(path: Path, problems: list[str]) -> int:
    try:
        with VideoReader(path) as reader:
            return reader.num_frames
    except MediaError as error:
        problems.append(str(error))
        return 0


def dhf1k_annotation_record(video: DHF1KVideo, digits: int = 4) -> VideoRecord:
    """The record of a DHF1K video's annotations (its frames may be absent: then `frames` is the annotation
    folder), maps and fixation maps named with `digits` digits; no files are counted."""
    pattern = dhf1k_pattern(digits)
    return VideoRecord(
        dataset=DHF1K_NAME, video=video.name, fps=DHF1K_FPS, num_frames=0,
        frames=str(video.frames if video.frames is not None else video.annotation),
        frame_pattern=None if video.frames is None or video.is_file else video.frame_pattern(),
        maps=str(video.maps), map_pattern=pattern, fixations=str(video.fixations), fixation_pattern=pattern,
        number=video.number,
    )
