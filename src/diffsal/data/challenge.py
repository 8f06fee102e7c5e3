"""The challenge layout (AIM 2024 "AViMoS", NTIRE 2026): its split file, its fixation lists and its records.

Paths: `diffsal.data.layout.ChallengeLayout`. The videos of a part are the names that ``TrainTestSplit.json``
lists under it; each is ``Videos/<name>.mp4`` (frames and sound), its continuous maps one video under
``Saliency*/`` and its fixations ``Fixations*/.../<name>/fixations.json``: per frame a list of ``[row, col]``
pixel positions (integers, on the map's pixel grid), the fixations the challenge's metrics use.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from diffsal.data.layout import (CHALLENGE_FIXATIONS_FILE, CHALLENGE_NAME, CHALLENGE_PARTS, ChallengeLayout)
from diffsal.data.sampling import validation_videos
from diffsal.data.video_record import VideoRecord, summarise_videos
from diffsal.errors import DatasetError, InputError, MediaError
from diffsal.io.paths import absence
from diffsal.io.probe import probe
from diffsal.io.video import VideoReader

_CHECK_THREADS = 8  # probing the videos is file reading: overlap it


def read_split(layout: ChallengeLayout) -> dict[str, list[str]]:
    """``TrainTestSplit.json``: part -> video names, each part a list of unique strings.

    Raises:
        DatasetError: the file is missing or not JSON; it is not an object; a part is not a list of names; a name
            is not a plain file name (a path could lead outside the dataset and the output folders); a name is
            listed twice (all naming the file).
    """
    path = layout.split_file
    data = _read_json(path, "split file")
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected an object of name lists per part ({', '.join(CHALLENGE_PARTS)})")
    split: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for part, names in data.items():
        if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
            raise DatasetError(f"{path}: {part!r} must be a list of video names")
        for name in names:
            if name in (".", "..") or any(character in name for character in "/\\\0"):
                raise DatasetError(f"{path}: {part!r} lists {name!r}, which is not a video name (a file name without "
                                   "/ or \\, not . or ..)")
            if name in owner:
                raise DatasetError(f"{path}: video {name!r} is listed twice ({owner[name]} and {part})")
            owner[name] = part
        split[part] = list(names)
    return split


def part_names(layout: ChallengeLayout, part: str, validation_fraction: float = 0.0,
               validation_seed: int = 0) -> list[str]:
    """The video names of `part`: "public_test", "private_test", "test" (both), "train" (less the videos held out
    for validation: `validation_fraction` of the train list, drawn with `validation_seed`) or "val" (those)."""
    if part not in (*CHALLENGE_PARTS, "test", "val"):
        raise InputError(f"the part of a challenge root must be one of {', '.join(CHALLENGE_PARTS)}, test or val, "
                         f"got {part!r}")
    split = read_split(layout)
    parts = {"test": ("public_test", "private_test"), "val": ("train",)}.get(part, (part,))
    for name in parts:
        if name not in split:
            raise DatasetError(f"{layout.split_file}: no {name!r} list (it has {', '.join(split) or 'none'})")
    names = [video for name in parts for video in split[name]]
    if parts == ("train",):
        held_out = set(validation_videos(names, validation_fraction, validation_seed))
        names = [name for name in names if (name in held_out) == (part == "val")]
    return names


def read_fixations(path: str | Path, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """A ``fixations.json``: per frame an int64 `(N, 2)` array of (row, col), in the file's order.

    Args:
        size: (width, height) of the maps: a fixation outside them is an error (None: not checked).

    Raises:
        DatasetError: missing or unreadable file, not a list of frames of [row, col] integer pairs, a fixation
            outside the frame (naming the file and the frame, 1-based).
    """
    path = Path(path)
    data = _read_json(path, "fixations file")
    if not isinstance(data, list) or not data:
        raise DatasetError(f"{path}: expected a list with one list of [row, col] fixations per frame")
    frames = []
    for number, points in enumerate(data, start=1):
        if not isinstance(points, list) or not all(
                isinstance(point, list) and len(point) == 2
                and all(isinstance(value, int) and not isinstance(value, bool) for value in point)
                for point in points):
            raise DatasetError(f"{path}: frame {number} is not a list of [row, col] integer pairs")
        try:
            array = np.array(points, dtype=np.int64).reshape(-1, 2)
        except OverflowError:
            raise DatasetError(f"{path}: frame {number}: a fixation is outside the frame (a coordinate beyond 64-bit "
                               "integers)") from None
        if size is not None and array.size:
            width, height = size
            outside = (array[:, 0] < 0) | (array[:, 0] >= height) | (array[:, 1] < 0) | (array[:, 1] >= width)
            if outside.any():
                row, col = array[np.argmax(outside)]
                raise DatasetError(f"{path}: frame {number}: fixation [row {row}, col {col}] is outside the "
                                   f"{width}x{height} frame")
        frames.append(array)
    return frames


def _read_json(path: Path, what: str):
    """The JSON content of `path`; DatasetError naming it (as `what`) when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DatasetError(f"{path}: {what} {absence(path)}") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{path}: not a readable JSON file ({error})") from error


def fixation_map(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """bool `(H, W)` with the fixated pixels of one frame's (row, col) list set (`size` = (width, height))."""
    width, height = size
    fixations = np.zeros((height, width), dtype=bool)
    fixations[points[:, 0], points[:, 1]] = True
    return fixations


def find_named(roots: list[Path], file_name: str | None = None, suffix: str = ".mp4") -> dict[str, Path]:
    """Under `roots` at any depth: video name -> the ``<name><suffix>`` file, or with `file_name` the file of that
    name in the folder ``<name>/``.

    Raises:
        DatasetError: a name found twice (naming both files: which one holds the video's ground truth is unknown).
    """
    found: dict[str, Path] = {}
    twice: list[tuple[str, Path, Path]] = []
    for root in roots:
        if not root.is_dir():
            continue
        if file_name is None:
            named = ((path.stem, path) for path in sorted(root.rglob(f"*{suffix}")) if path.is_file())
        else:
            named = ((path.parent.name, path) for path in sorted(root.rglob(file_name)))
        for name, path in named:
            if found.setdefault(name, path) != path:
                twice.append((name, found[name], path))
    if twice:
        name, first, second = twice[0]
        more = f"; {len(twice)} names are found twice" if len(twice) > 1 else ""
        raise DatasetError(f"{first} and {second}: two files for the video {name!r}, one is expected{more}")
    return found


def part_ground_truth(layout: ChallengeLayout, part: str) -> list[tuple[str, Path, Path]]:
    """The videos of `part` in name order, each with its map video and its ``fixations.json``.

    Raises:
        DatasetError: a bad split file; a part that lists no videos; a video without its map video or fixations.
    """
    names = sorted(part_names(layout, part))
    if not names:
        raise DatasetError(f"{layout.split_file}: the {part} part lists no videos")
    maps = find_named(layout.saliency_roots())
    fixations = find_named(layout.fixation_roots(), CHALLENGE_FIXATIONS_FILE)
    absent = []
    for name in names:
        missing = [f"{layout.root}/Saliency*/.../{name}.mp4: map video missing"] if name not in maps else []
        if name not in fixations:
            missing.append(f"{layout.root}/Fixations*/.../{name}/{CHALLENGE_FIXATIONS_FILE}: fixations missing")
        if missing:
            absent.append(", ".join(missing))
    if absent:
        raise DatasetError(summarise_videos(absent) + f" (the {part} part needs its ground truth)")
    return [(name, maps[name], fixations[name]) for name in names]


def challenge_candidates(root: str | Path, part: str, *, annotations: bool = True, check: bool = True,
                         validation_fraction: float = 0.0,
                         validation_seed: int = 0) -> list[tuple[VideoRecord, list[str]]]:
    """What `diffsal.data.index.index_dataset` finds in a challenge root: the records of `part`, each with its
    problems (`part_names`: which videos).

    With `check`, each video is probed (frame count, rate, sound) and, with `annotations`, its map video's frame
    count and its fixations are compared with it; without, the records carry the fixation list's frame count
    (0 without annotations) and the video as its own sound track.
    """
    layout = ChallengeLayout(root)
    names = part_names(layout, part, validation_fraction, validation_seed)
    maps = find_named(layout.saliency_roots()) if annotations else {}
    fixations = find_named(layout.fixation_roots(), CHALLENGE_FIXATIONS_FILE) if annotations else {}

    def record(name: str) -> tuple[VideoRecord, list[str]]:
        return challenge_record(layout, name, maps.get(name), fixations.get(name), annotations, check)

    with ThreadPoolExecutor(max_workers=_CHECK_THREADS if check else 1) as pool:
        return list(pool.map(record, names))


def challenge_record(layout: ChallengeLayout, name: str, map_video: Path | None, fixations: Path | None,
                     annotations: bool, check: bool) -> tuple[VideoRecord, list[str]]:
    """One video's record and the problems that make it unusable (none looked for without `check`, except that
    its files exist)."""
    video = layout.video_path(name)
    problems: list[str] = []
    if not video.is_file():
        problems.append(f"{video}: video {absence(video)} ({layout.split_file.name} lists {name!r})")
    if annotations:
        if map_video is None:
            problems.append(f"{layout.root}/Saliency*/.../{name}.mp4: map video missing")
        if fixations is None:
            problems.append(f"{layout.root}/Fixations*/.../{name}/{CHALLENGE_FIXATIONS_FILE}: fixations missing")
    num_frames, fps, audio = 0, 0.0, str(video)
    if check and not problems:
        try:
            info = probe(video)
            num_frames, fps = info.num_frames, info.fps
            audio = str(video) if info.audio is not None else None
            if annotations:
                with VideoReader(map_video) as reader:
                    map_frames, map_size = reader.num_frames, reader.size
                if map_frames != num_frames:
                    problems.append(f"{map_video}: {map_frames} map frames but the video has {num_frames}")
                fixation_frames = len(read_fixations(fixations, map_size))
                if fixation_frames != num_frames:
                    problems.append(f"{fixations}: {fixation_frames} frames of fixations but the video has "
                                    f"{num_frames}")
        except (MediaError, DatasetError) as error:
            problems.append(str(error))
    elif annotations and fixations is not None and not problems:
        try:
            num_frames = len(read_fixations(fixations))
        except DatasetError as error:
            problems.append(str(error))
    record = VideoRecord(
        dataset=CHALLENGE_NAME, video=name, fps=fps, num_frames=num_frames, frames=str(video), frame_pattern=None,
        audio=audio, maps=str(map_video) if annotations and map_video else None,
        fixations=str(fixations) if annotations and fixations else None,
    )
    return record, problems
