"""Validation of a STAViS-layout root: what is present, what is missing, what does not match.

Every problem is one line that starts with the path it is about. Checked per database:

- fold lists: present, every line ``name n_frames fps`` with n_frames >= 1 and fps > 0, a video
  described the same way in every list;
- per listed video: frames folder (present, no gaps, as many frames as the list says), wav,
  ``maps/eyeMap_*.jpg`` and ``fixMap_*.mat`` (present, as many as frames);
- with ``decode=True`` every JPEG, MAT and wav is also decoded (slow on the full benchmarks).

Notes (not problems): videos on disk that no fold list names, fold-list files of a split that
are absent, videos listed twice in one list (a published AVAD quirk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from diffsal.data.annotations import read_fixation_map, read_saliency_map
from diffsal.data.fold_lists import SINGLE_SPLIT_DATABASES, SPLITS, FoldEntry, read_fold_list_reporting
from diffsal.data.layout import EYE_MAP_PATTERN, FIX_MAP_PATTERN, StavisLayout, count_numbered
from diffsal.data.records import folder_problems
from diffsal.errors import DiffSalError, InputError
from diffsal.io.audio import read_audio
from diffsal.io.frame_folder import STAVIS_FRAME_PATTERN


@dataclass
class VideoCheck:
    video: str
    num_frames: int  # from the fold list
    fps: float
    frames: int  # files found
    wav: bool
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
    """Check `databases` (default: every database found) under `root`.

    Args:
        annotations: require eyeMaps and fixMaps (False for `diffsal prepare` output).
        audio: require a wav per video.
        decode: decode every file, not only count it.
    """
    layout = StavisLayout(root)
    if not layout.root.is_dir():
        raise InputError(f"{layout.root}: no such folder")
    names = databases or layout.databases()
    if not names:
        raise InputError(f"{layout.root}: no databases found (expected fold_lists/ and video_frames/<DB>/)")
    return CheckReport(layout.root, [_check_database(layout, name, annotations, audio, decode) for name in names])


def _check_database(layout: StavisLayout, name: str, annotations: bool, audio: bool, decode: bool) -> DatabaseCheck:
    result = DatabaseCheck(name, fold_lists=layout.fold_lists().get(name, []))
    if not result.fold_lists:
        result.problems.append(f"{layout.root / 'fold_lists'}: no fold list for {name} (expected {layout.fold_list(name, 'test', 1).name})")
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
    frames_root = layout.root / "video_frames" / name
    if frames_root.is_dir():
        unlisted = sorted(entry.name for entry in frames_root.iterdir() if entry.is_dir() and entry.name not in entries
                          and not entry.name.startswith("."))
        if unlisted:
            result.notes.append(f"{frames_root}: {len(unlisted)} video(s) in no fold list: {', '.join(unlisted[:10])}"
                                + (" ..." if len(unlisted) > 10 else ""))
    return result


def _check_video(layout: StavisLayout, database: str, entry: FoldEntry, annotations: bool, audio: bool, decode: bool) -> VideoCheck:
    frames_dir = layout.frames_dir(database, entry.video)
    maps_dir = layout.maps_dir(database, entry.video)
    annotation_dir = layout.annotation_dir(database, entry.video)
    wav = layout.wav_path(database, entry.video)
    check = VideoCheck(
        video=entry.video,
        num_frames=entry.num_frames,
        fps=entry.fps,
        frames=count_numbered(frames_dir, STAVIS_FRAME_PATTERN)[0],
        wav=wav.is_file() and wav.stat().st_size > 0,
        eye_maps=count_numbered(maps_dir, EYE_MAP_PATTERN)[0],
        fix_maps=count_numbered(annotation_dir, FIX_MAP_PATTERN)[0],
    )
    if not frames_dir.is_dir():
        check.problems.append(f"{frames_dir}: frames folder missing (the fold list names {entry.video})")
    else:
        check.problems += folder_problems(frames_dir, STAVIS_FRAME_PATTERN, "frames", entry.num_frames)
    if audio and not check.wav:
        check.problems.append(f"{wav}: wav missing" if not wav.exists() else f"{wav}: wav is empty or not a file")
    if annotations:
        check.problems += folder_problems(maps_dir, EYE_MAP_PATTERN, "eyeMaps", entry.num_frames)
        check.problems += folder_problems(annotation_dir, FIX_MAP_PATTERN, "fixMaps", entry.num_frames)
    if decode:
        check.problems += _decode_problems(frames_dir, STAVIS_FRAME_PATTERN, check.frames, _decode_image)
        if annotations:
            check.problems += _decode_problems(maps_dir, EYE_MAP_PATTERN, check.eye_maps, read_saliency_map)
            check.problems += _decode_problems(annotation_dir, FIX_MAP_PATTERN, check.fix_maps, read_fixation_map)
        if audio and check.wav:
            try:
                read_audio(wav)
            except DiffSalError as error:
                check.problems.append(str(error))
    return check


def _decode_problems(folder: Path, pattern: str, count: int, decode) -> list[str]:
    problems = []
    for number in range(1, count + 1):
        path = folder / pattern.format(number)
        if not path.exists():
            continue  # gaps are reported by the count check
        try:
            decode(path)
        except DiffSalError as error:
            problems.append(str(error))
    return problems


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
    return [f"{layout.root / 'fold_lists'}: no {', '.join(absent)}"] if absent else []
