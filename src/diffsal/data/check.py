"""Validation of a dataset root (STAViS, DHF1K or challenge layout): what is present, what is missing, what does
not match.

Every problem is one line that starts with the path it is about. Checked per STAViS database:

- fold lists: present, every line ``name n_frames fps`` with n_frames >= 1 and fps > 0, a video
  described the same way in every list;
- per listed video (its record from `diffsal.data.index`): frames folder (present, no gaps, as many
  frames as the list says), wav, the eyeMaps and fixMaps (present, as many as frames);
- with ``decode=True`` every JPEG, MAT and wav is also decoded (slow on the full benchmarks), and
  per video: maps of another size than the video's first map (eyeMaps and fixMaps alike, and
  eyeMaps against fixMaps), and all-black eyeMaps of frames whose fixMap has fixations.

DHF1K (either layout, `diffsal.data.index.find_dhf1k_videos`): per video its frames (the AVI, or
``images/`` without gaps), and for the train and val videos ``maps/`` and ``fixation/`` with one
map per frame; ``decode=True`` decodes every image and map (and counts the AVI's frames) and
makes the same per-video checks.

Challenge layout (`diffsal.data.challenge`): the split file (readable, name lists, no name twice); per video it
lists: the video (probed: frames, rate, sound), and for the train videos (and the test videos whose annotations
are there) the map video and ``fixations.json``: present, as many frames as the video, fixations inside the map,
every frame with at least one fixation (the challenge's scoring fails on a frame without); ``decode=True``
decodes every map frame.

Notes (not problems): videos on disk that no fold list names, fold-list files of a split that
are absent, videos listed twice in one list (a published AVAD quirk); DHF1K videos absent from
a part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from diffsal.data.annotations import read_fixation_map, read_saliency_map
from diffsal.data.fold_lists import SINGLE_SPLIT_DATABASES, SPLITS, FoldEntry, read_fold_list_reporting
from diffsal.data.challenge import challenge_record, find_named, read_split
from diffsal.data.ground_truth import GroundTruth
from diffsal.data.index import DHF1KVideo, find_dhf1k_videos, is_dhf1k_root, stavis_record
from diffsal.data.layout import (CHALLENGE_FIXATIONS_FILE, CHALLENGE_NAME, CHALLENGE_PARTS, ChallengeLayout,
                                 is_challenge_root,
                                 DHF1K_FPS, DHF1K_NAME, DHF1K_PARTS, DHF1K_PATTERN, IMAGES_DIR, StavisLayout,
                                 count_numbered)
from diffsal.data.video_record import folder_problems
from diffsal.errors import DatasetError, DiffSalError, InputError
from diffsal.io.audio import read_audio
from diffsal.io.paths import absence, check_input_path
from diffsal.io.video import VideoReader

ABSENT_NAMED = 10  # absent DHF1K videos named in a note before counting the rest


@dataclass
class VideoCheck:
    video: str
    num_frames: int  # from the fold list
    fps: float
    frames: int  # files found
    wav: bool | None  # None: the dataset has no sound (DHF1K)
    eye_maps: int
    fix_maps: int
    problems: list[str] = field(default_factory=list)


@dataclass
class DatabaseCheck:
    name: str
    fold_lists: list[Path] = field(default_factory=list)
    videos: list[VideoCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the database as a whole
    notes: list[str] = field(default_factory=list)

    @property
    def all_problems(self) -> list[str]:
        return self.problems + [problem for video in self.videos for problem in video.problems]


@dataclass
class CheckReport:
    root: Path
    databases: list[DatabaseCheck]

    @property
    def problems(self) -> list[str]:
        return [problem for database in self.databases for problem in database.all_problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "root": str(self.root),
            "ok": self.ok,
            "databases": [
                {
                    "name": database.name,
                    "fold_lists": [str(path) for path in database.fold_lists],
                    "videos": [video.__dict__ for video in database.videos],
                    "problems": database.problems,
                    "notes": database.notes,
                }
                for database in self.databases
            ],
        }


def check_dataset(
    root: str | Path,
    databases: list[str] | None = None,
    *,
    annotations: bool = True,
    audio: bool = True,
    decode: bool = False,
) -> CheckReport:
    """Check `databases` (default: every database found) under `root`; a DHF1K root is checked as DHF1K.

    Args:
        annotations: require eyeMaps and fixMaps (False for `diffsal prepare` output).
        audio: require a wav per video (STAViS).
        decode: decode every file, not only count it.
    """
    root = check_input_path(root, "dataset root")
    if not root.is_dir():
        raise InputError(f"{root}: not a folder (expected a dataset root)")
    layout = StavisLayout(root)
    names = databases or layout.databases()
    if names in ([], [CHALLENGE_NAME]) and is_challenge_root(root):
        return CheckReport(root, [_check_challenge(root, annotations, decode)])
    if names in ([], [DHF1K_NAME]) and is_dhf1k_root(root):
        return CheckReport(root, [_check_dhf1k(root, annotations, decode)])
    if not names:
        raise InputError(f"{root}: no databases found (expected fold_lists/ and video_frames/<DB>/ (STAViS), "
                         "or video/ + annotation/ or <NNNN>/images/ (DHF1K))")
    return CheckReport(root, [_check_database(layout, name, annotations, audio, decode) for name in names])


def _check_database(layout: StavisLayout, name: str, annotations: bool, audio: bool, decode: bool) -> DatabaseCheck:
    result = DatabaseCheck(name, fold_lists=layout.fold_lists().get(name, []))
    if not result.fold_lists:
        result.problems.append(f"{layout.fold_lists_dir}: no fold list for {name} (expected {layout.fold_list(name, 'test', 1).name})")
    else:
        result.notes += _absent_lists(layout, name, result.fold_lists)
    entries: dict[str, FoldEntry] = {}
    for path in result.fold_lists:
        try:
            fold_list, problems = read_fold_list_reporting(path)
        except InputError as error:
            result.problems.append(str(error))
            continue
        result.problems += problems
        if fold_list.duplicates:
            result.notes.append(f"{path}: listed more than once (kept once): {', '.join(sorted(set(fold_list.duplicates)))}")
        for entry in fold_list.entries:
            known = entries.setdefault(entry.video, entry)
            if (known.num_frames, known.fps) != (entry.num_frames, entry.fps):
                result.problems.append(f"{path}: {entry.video} is '{entry.num_frames} {entry.fps:g}' here but "
                                       f"'{known.num_frames} {known.fps:g}' in another fold list")
    for entry in entries.values():
        result.videos.append(_check_video(layout, name, entry, annotations, audio, decode))
    frames_root = layout.database_frames_dir(name)
    if frames_root.is_dir():
        unlisted = sorted(entry.name for entry in frames_root.iterdir() if entry.is_dir() and entry.name not in entries
                          and not entry.name.startswith("."))
        if unlisted:
            result.notes.append(f"{frames_root}: {len(unlisted)} video(s) in no fold list: {', '.join(unlisted[:10])}"
                                + (" ..." if len(unlisted) > 10 else ""))
    return result


def _check_video(layout: StavisLayout, database: str, entry: FoldEntry, annotations: bool, audio: bool, decode: bool) -> VideoCheck:
    record, problems = stavis_record(layout, database, entry, annotations, "required" if audio else "optional")
    frames_dir, wav = Path(record.frames), Path(record.wav)
    maps_dir, annotation_dir = layout.maps_dir(database, entry.video), layout.annotation_dir(database, entry.video)
    if not frames_dir.is_dir():  # the first problem: say which fold list entry wants it
        problems[0] = f"{frames_dir}: frames folder {absence(frames_dir)} (the fold list names {entry.video})"
    check = VideoCheck(
        video=entry.video,
        num_frames=entry.num_frames,
        fps=entry.fps,
        frames=count_numbered(frames_dir, record.frame_pattern)[0],
        wav=record.audio is not None,
        eye_maps=count_numbered(maps_dir, record.map_pattern)[0],
        fix_maps=count_numbered(annotation_dir, record.fixation_pattern)[0],
        problems=problems,
    )
    if decode:
        check.problems += _decode_problems(frames_dir, record.frame_pattern, _decode_image)
        if annotations:
            check.problems += _annotation_problems(maps_dir, record.map_pattern, annotation_dir, record.fixation_pattern)
        if audio and check.wav:
            try:
                read_audio(wav)
            except DiffSalError as error:
                check.problems.append(str(error))
    return check


def _check_dhf1k(root: Path, annotations: bool, decode: bool) -> DatabaseCheck:
    result = DatabaseCheck(DHF1K_NAME)
    videos = find_dhf1k_videos(root)
    result.videos = [_check_dhf1k_video(video, annotations, decode) for video in videos]
    for part, numbers in DHF1K_PARTS.items():
        present = {video.number for video in videos if video.part == part}
        absent = [f"{number:04d}" for number in numbers if number not in present]
        if absent:
            named = ", ".join(absent[:ABSENT_NAMED]) + (" ..." if len(absent) > ABSENT_NAMED else "")
            result.notes.append(f"{root}: {len(absent)} of the {len(numbers)} {part} videos "
                                f"({numbers[0]:04d}-{numbers[-1]:04d}) absent: {named}")
    return result


def _check_dhf1k_video(video: DHF1KVideo, annotations: bool, decode: bool) -> VideoCheck:
    """One DHF1K video; maps are required for the train and val parts (the test part has none public)."""
    problems: list[str] = []
    maps_count = count_numbered(video.maps, DHF1K_PATTERN)[0]
    num_frames, counted_by, fps = maps_count, "the maps folder has", DHF1K_FPS
    if video.frames is None:
        problems.append(f"{video.annotation}: annotations of DHF1K video {video.name} but no frames "
                        f"(video/{video.number:03d}.AVI or {video.name}/{IMAGES_DIR}/)")
        num_frames = 0
    elif video.is_file:
        if video.frames.stat().st_size == 0:
            problems.append(f"{video.frames}: video file is empty")
        elif decode:  # counting the AVI's frames means opening it
            try:
                with VideoReader(video.frames) as reader:
                    num_frames, counted_by, fps = reader.num_frames, "the video has", reader.fps
            except DiffSalError as error:
                problems.append(str(error))
    else:
        pattern = video.frame_pattern()
        problems += folder_problems(video.frames, pattern, "frames", None)
        num_frames, counted_by = count_numbered(video.frames, pattern)[0], "the images folder has"
        if decode:
            problems += _decode_problems(video.frames, pattern, _decode_image)
    if annotations and (video.part != "test" or video.annotated):
        for folder, what in ((video.maps, "maps"), (video.fixations, "fixation maps")):
            problems += folder_problems(folder, DHF1K_PATTERN, what, num_frames or None, counted_by)
        if decode:
            problems += _annotation_problems(video.maps, DHF1K_PATTERN, video.fixations, DHF1K_PATTERN)
    return VideoCheck(video=video.name, num_frames=num_frames, fps=fps, frames=num_frames if video.frames else 0,
                      wav=None, eye_maps=maps_count, fix_maps=count_numbered(video.fixations, DHF1K_PATTERN)[0],
                      problems=problems)


def _check_challenge(root: Path, annotations: bool, decode: bool) -> DatabaseCheck:
    layout = ChallengeLayout(root)
    result = DatabaseCheck(CHALLENGE_NAME, fold_lists=[layout.split_file])
    try:
        split = read_split(layout)
    except InputError as error:
        result.problems.append(str(error))
        return result
    absent = [part for part in CHALLENGE_PARTS if part not in split]
    if absent:
        result.notes.append(f"{layout.split_file}: no {', '.join(absent)} list")
    try:
        maps = find_named(layout.saliency_roots()) if annotations else {}
        fixations = find_named(layout.fixation_roots(), CHALLENGE_FIXATIONS_FILE) if annotations else {}
    except DatasetError as error:
        result.problems.append(str(error))
        return result
    unannotated = []
    for part, names in split.items():
        for name in names:
            wanted = annotations and (part == "train" or name in maps or name in fixations)
            if annotations and not wanted:
                unannotated.append(name)
            record, problems = challenge_record(layout, name, maps.get(name), fixations.get(name), wanted, check=True)
            check = VideoCheck(video=name, num_frames=record.num_frames, fps=record.fps, frames=record.num_frames,
                               wav=record.audio is not None, eye_maps=0, fix_maps=0, problems=problems)
            if wanted and not problems:
                _check_challenge_annotations(record, check, decode)
            result.videos.append(check)
    if unannotated:
        more = " ..." if len(unannotated) > ABSENT_NAMED else ""
        result.notes.append(f"{root}: {len(unannotated)} test video(s) without maps and fixations (scoring needs "
                            f"them): {', '.join(unannotated[:ABSENT_NAMED])}{more}")
    listed = {name for names in split.values() for name in names}
    unlisted = sorted(path.stem for path in layout.videos_dir.glob("*.mp4") if path.stem not in listed)
    if unlisted:
        more = " ..." if len(unlisted) > ABSENT_NAMED else ""
        result.notes.append(f"{layout.videos_dir}: {len(unlisted)} video(s) in no part of {layout.split_file.name}: "
                            f"{', '.join(unlisted[:ABSENT_NAMED])}{more}")
    return result


def _check_challenge_annotations(record, check: VideoCheck, decode: bool) -> None:
    """The counts of a challenge video's map frames and fixation frames; frames without fixations; with `decode`,
    every map frame decoded."""
    truth = GroundTruth(record)
    try:
        points = truth.fixation_points()
        check.fix_maps = len(points)
        empty = [number for number, frame in enumerate(points, start=1) if not len(frame)]
        if empty:
            check.problems.append(f"{record.fixations}: frame {empty[0]} has no fixation ({len(empty)} such frame(s); "
                                  "the challenge's scoring fails on them)")
        with VideoReader(record.maps) as reader:
            check.eye_maps = reader.num_frames
            if decode:
                for index in range(reader.num_frames):
                    reader.luma(index)
    except DiffSalError as error:
        check.problems.append(str(error))
    finally:
        truth.close()


def _numbers(folder: Path, pattern: str) -> range:
    """1 .. the highest number present in `folder` (gaps included: the count check reports them)."""
    count, gaps = count_numbered(folder, pattern)
    return range(1, count + len(gaps) + 1)


def _decode_problems(folder: Path, pattern: str, decode) -> list[str]:
    problems: list[str] = []
    for number in _numbers(folder, pattern):
        _decoded(folder / pattern.format(number), decode, problems)
    return problems


def _annotation_problems(maps_dir: Path, map_pattern: str, fixations_dir: Path, fixation_pattern: str) -> list[str]:
    """Decode a video's maps and fixation maps: unreadable files, sizes that differ within the video,
    and all-black maps of frames that have fixations (an export error: every map metric of such a
    frame is undefined, and evaluation would silently drop it)."""
    problems: list[str] = []
    first: dict[str, tuple[Path, tuple[int, ...]]] = {}  # kind -> the video's first file of that kind, its size
    other_size: dict[str, list[tuple[Path, tuple[int, ...]]]] = {"map": [], "fixation map": []}
    black: list[tuple[Path, Path, int]] = []
    numbers = max(_numbers(maps_dir, map_pattern), _numbers(fixations_dir, fixation_pattern), key=len)
    for number in numbers:
        map_path, fixation_path = maps_dir / map_pattern.format(number), fixations_dir / fixation_pattern.format(number)
        saliency = _decoded(map_path, read_saliency_map, problems)
        fixations = _decoded(fixation_path, read_fixation_map, problems)
        for kind, path, array in (("map", map_path, saliency), ("fixation map", fixation_path, fixations)):
            if array is not None and first.setdefault(kind, (path, array.shape))[1] != array.shape:
                other_size[kind].append((path, array.shape))
        if saliency is not None and fixations is not None and saliency.max() == 0 and fixations.any():
            black.append((map_path, fixation_path, int(fixations.sum())))
    for kind, odd in other_size.items():
        if odd:
            (path, shape), (reference, reference_shape) = odd[0], first[kind]
            problems.append(f"{path}: {kind} is {_size(shape)}, but {reference} is {_size(reference_shape)} "
                            f"({len(odd)} {kind}(s) of another size in this video)")
    if len(first) == 2 and first["map"][1] != first["fixation map"][1]:
        (map_path, map_shape), (fixation_path, fixation_shape) = first["map"], first["fixation map"]
        problems.append(f"{map_path}: map is {_size(map_shape)}, but fixation map {fixation_path} is {_size(fixation_shape)}")
    if black:
        map_path, fixation_path, count = black[0]
        more = f" ({len(black)} such frames in this video)" if len(black) > 1 else ""
        problems.append(f"{map_path}: all-black map, but {fixation_path} has {count} fixation(s){more}")
    return problems


def _decoded(path: Path, read, problems: list[str]):
    """`read(path)`, or None when the file is absent (a gap, reported by the count check) or unreadable
    (the error is added to `problems`)."""
    if not path.exists():
        return None
    try:
        return read(path)
    except DiffSalError as error:
        problems.append(str(error))
        return None


def _size(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape[::-1]))  # width x height


def _decode_image(path: Path) -> None:
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise InputError(f"{path}: corrupt or unreadable image ({error})") from error


def _absent_lists(layout: StavisLayout, name: str, present: list[Path]) -> list[str]:
    if name in SINGLE_SPLIT_DATABASES:
        expected = [layout.fold_list(name, part) for part in ("train", "test")]
    else:
        expected = [layout.fold_list(name, part, split) for split in SPLITS for part in ("train", "test")]
    absent = [path.name for path in expected if path not in present]
    return [f"{layout.fold_lists_dir}: no {', '.join(absent)}"] if absent else []
