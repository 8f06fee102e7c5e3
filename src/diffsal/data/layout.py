"""Where each file of the two dataset trees lives: every file-name pattern of the STAViS layout and of
DHF1K is here, and every other module builds paths through this one. Frame numbers here are
0-based; on disk they are 1-based (5 digits for STAViS, 4 for DHF1K).

STAViS:

```
video_frames/<DB>/<video>/img_00001.jpg ...
video_audio/<DB>/<video>/<video>.wav
annotations/<DB>/<video>/maps/eyeMap_00001.jpg ...
annotations/<DB>/<video>/fixMap_00001.mat ...
fold_lists/<DB>_list_{train,test}_{1,2,3}_fps.txt          (DIEM: <DB>_list_{train,test}_fps.txt)
videos/<DB>/<video>.mp4                                    (ours: the synthetic benchmark's mp4s)
meta/<DB>/<video>.json, meta/<DB>/benchmark.json           (ours: the synthetic benchmark's ground truth)
```

DHF1K, two layouts, also mixed (`DHF1KPaths`): official ``video/001.AVI`` with
``annotation/0001/{maps,fixation}/0001.png``, or extracted ``<root>/0001/{images,maps,fixation}/0001.png``
(also under ``train/``, ``val/``, ``test/``). Videos 1-600 are "train", 601-700 "val", 701-1000 "test"
(`DHF1K_PARTS`).

The challenge layout of the MSU video group's saliency challenges (AIM 2024 "AViMoS", NTIRE 2026), either year::

    Videos/<name>.mp4                                      the videos, with their sound
    TrainTestSplit.json                                    {"train": [...], "public_test": [...], "private_test": [...]}
    VideoInfo.json                                         per-video metadata (licence, ...)
    SaliencyTrain/Train/<name>.mp4, SaliencyTest/Test/...  continuous maps as a 10-bit video (any depth of folders)
    FixationsTrain/Train/<name>/fixations.json, ...        per frame a list of [row, col] fixations
    FixationsTrain/Train/<name>/fixations_maps/001.png     binary maps for viewing (AIM 2024: fixations/)

Also here: the one naming rule that turns video files into video names (`video_names`), used by
`diffsal prepare` for the layout above and by `diffsal predict` for its output folders.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from typing import Literal

from diffsal.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")
STAVIS_FRAME_PATTERN = "img_{:05d}.jpg"
FRAME_PATTERN = STAVIS_FRAME_PATTERN
EYE_MAP_PATTERN = "eyeMap_{:05d}.jpg"
FIX_MAP_PATTERN = "fixMap_{:05d}.mat"
STAVIS_FOLDERS = ("video_frames", "video_audio", "annotations", "fold_lists")  # the top level of a root
FRAMES_FOLDER, AUDIO_FOLDER, ANNOTATIONS_FOLDER, FOLD_LISTS_FOLDER = STAVIS_FOLDERS
MAPS_FOLDER = "maps"  # eyeMaps, inside a video's annotation folder
EXAMPLE_EYE_MAP = f"{ANNOTATIONS_FOLDER}/<DB>/<video>/{MAPS_FOLDER}/{EYE_MAP_PATTERN.format(1)}"  # for messages
SINGLE_SPLIT_DATABASES = ("DIEM",)
SPLITS = (1, 2, 3)

# The prediction tree the STAViS MATLAB evaluation reads (eval_<db>.m): PRED/split<N>_results/<folder>/<video>/
# with one JPEG per frame whose name ends in "_<frame number>" (the published DiffSal code writes pred_sal_).
STAVIS_RESULT_FOLDERS = {"AVAD": "avad", "Coutrot_db1": "coutrot1", "Coutrot_db2": "coutrot2", "DIEM": "diem",
                         "ETMD_av": "etmd", "SumMe": "summe"}
STAVIS_PREDICTION_PATTERN = "pred_sal_{:06d}.jpg"  # 1-based
Part = Literal["train", "test"]

DHF1K_NAME = "DHF1K"
DHF1K_FPS = 30.0
DHF1K_PARTS = {"train": range(1, 601), "val": range(601, 701), "test": range(701, 1001)}
DHF1K_DIGITS = 4


def stavis_result_folder(database: str) -> str:
    """The folder of `database` in the MATLAB evaluation's prediction tree (its name in lower case for a database
    the MATLAB scripts do not know)."""
    return STAVIS_RESULT_FOLDERS.get(database, database.lower())


def stavis_result_key(database: str, video: str, split: int) -> str:
    """The folder of one video's predictions in the MATLAB evaluation's tree, relative to PRED."""
    return f"split{split}_results/{stavis_result_folder(database)}/{video}"


def output_key(dataset: str, video: str) -> str:
    """The name `diffsal predict` gives a dataset's video under OUT: ``<dataset>/<video>``, or ``<video>`` for the
    videos of a challenge root (so that ``--format challenge`` writes ``OUT/<video>.mp4``, a submission)."""
    return video if dataset == CHALLENGE_NAME else f"{dataset}/{video}"


def dhf1k_pattern(digits: int = DHF1K_DIGITS) -> str:
    """The naming of DHF1K's maps and fixation maps (and of its PNG frames): ``0001.png``."""
    return f"{{:0{digits}d}}.png"


DHF1K_PATTERN = dhf1k_pattern()
DHF1K_IMAGE_PATTERNS = ("{:04d}.png", "{:04d}.jpg")  # an images/ folder holds one of these
DHF1K_VIDEO_SUFFIXES = (".avi", ".mp4")
DHF1K_OFFICIAL_VIDEOS = "video"  # video/NNN.AVI
DHF1K_OFFICIAL_ANNOTATIONS = "annotation"  # annotation/NNNN/
DHF1K_EXTRACTED_PARENTS = (DHF1K_OFFICIAL_ANNOTATIONS, ".", "train", "val", "test")  # <parent>/NNNN/
MAPS_DIR = "maps"
FIXATIONS_DIR = "fixation"
IMAGES_DIR = "images"
CHALLENGE_NAME = "Challenge"  # the dataset name of a challenge root's videos (records, reports, prediction keys)
CHALLENGE_PARTS = ("train", "public_test", "private_test")  # the keys of TrainTestSplit.json
CHALLENGE_DEFAULT_PART = "public_test"  # what predict and evaluate take from a challenge root by default
CHALLENGE_VIDEOS = ("Videos", "videos", "Video", "video")  # Videos.zip's folder: the first of these that exists
CHALLENGE_SPLIT_FILE = "TrainTestSplit.json"
CHALLENGE_INFO_FILE = "VideoInfo.json"
CHALLENGE_SALIENCY_FOLDERS = {"train": ("SaliencyTrain", "Train"), "test": ("SaliencyTest", "Test")}
CHALLENGE_FIXATION_FOLDERS = {"train": ("FixationsTrain", "Train"), "test": ("FixationsTest", "Test")}
CHALLENGE_FIXATIONS_FILE = "fixations.json"
CHALLENGE_FIXATION_MAPS = ("fixations_maps", "fixations")  # NTIRE 2026, AIM 2024
CHALLENGE_FIXATION_MAP_PATTERN = "{:03d}.png"
_FOLD_LIST_NAME = re.compile(r"^(?P<db>.+)_list_(?P<part>train|test)(?:_(?P<split>\d+))?_fps\.txt$")


@dataclass(frozen=True)
class StavisLayout:
    """Paths of the STAViS layout under `root`."""

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    def database_frames_dir(self, database: str) -> Path:
        return self.root / FRAMES_FOLDER / database

    def annotations_dir(self, database: str | None = None) -> Path:
        """``annotations/`` (or ``annotations/<DB>``)."""
        folder = self.root / ANNOTATIONS_FOLDER
        return folder if database is None else folder / database

    def frames_dir(self, database: str, video: str) -> Path:
        return self.database_frames_dir(database) / video

    def frame_path(self, database: str, video: str, index: int) -> Path:
        return self.frames_dir(database, video) / STAVIS_FRAME_PATTERN.format(index + 1)

    def wav_path(self, database: str, video: str) -> Path:
        return self.root / AUDIO_FOLDER / database / video / f"{video}.wav"

    def annotation_dir(self, database: str, video: str) -> Path:
        return self.annotations_dir(database) / video

    def maps_dir(self, database: str, video: str) -> Path:
        return self.annotation_dir(database, video) / MAPS_FOLDER

    def eye_map_path(self, database: str, video: str, index: int) -> Path:
        return self.maps_dir(database, video) / EYE_MAP_PATTERN.format(index + 1)

    def fix_map_path(self, database: str, video: str, index: int) -> Path:
        return self.annotation_dir(database, video) / FIX_MAP_PATTERN.format(index + 1)

    def mp4_path(self, database: str, video: str) -> Path:
        return self.root / "videos" / database / f"{video}.mp4"

    def meta_path(self, database: str, name: str) -> Path:
        """``meta/<DB>/<name>.json`` (the synthetic benchmark's metadata; `name` a video or "benchmark")."""
        return self.root / "meta" / database / f"{name}.json"

    def fold_list(self, database: str, part: Part, split: int = 1) -> Path:
        return fold_list_path(self.root, database, part, split)

    @property
    def fold_lists_dir(self) -> Path:
        return self.root / FOLD_LISTS_FOLDER

    def fold_lists(self) -> dict[str, list[Path]]:
        """Database name -> its fold-list files present under ``fold_lists/``, sorted."""
        found: dict[str, list[Path]] = {}
        folder = self.fold_lists_dir
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                match = _FOLD_LIST_NAME.match(path.name)
                if match and path.is_file():
                    found.setdefault(match.group("db"), []).append(path)
        return found

    def databases(self) -> list[str]:
        """Databases with fold lists or a frames folder, sorted."""
        names = set(self.fold_lists())
        frames_root = self.root / FRAMES_FOLDER
        if frames_root.is_dir():
            names.update(entry.name for entry in frames_root.iterdir() if entry.is_dir())
        return sorted(names)


@dataclass(frozen=True)
class ChallengeLayout:
    """Paths of the challenge layout under `root`. The map videos and fixation folders are found at any depth
    under ``Saliency{Train,Test}/`` and ``Fixations{Train,Test}/`` (the releases unpack to ``.../Train/`` and
    ``.../Test/``; a flat folder works as well); `write_*` paths are where `diffsal synth` puts them."""

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def split_file(self) -> Path:
        return self.root / CHALLENGE_SPLIT_FILE

    @property
    def info_file(self) -> Path:
        return self.root / CHALLENGE_INFO_FILE

    @property
    def videos_dir(self) -> Path:
        """``Videos/`` (or the first of `CHALLENGE_VIDEOS` that exists)."""
        return next((self.root / name for name in CHALLENGE_VIDEOS if (self.root / name).is_dir()),
                    self.root / CHALLENGE_VIDEOS[0])

    def video_path(self, name: str) -> Path:
        return self.videos_dir / f"{name}.mp4"

    def saliency_roots(self) -> list[Path]:
        return [self.root / folder for folder, _ in CHALLENGE_SALIENCY_FOLDERS.values()]

    def fixation_roots(self) -> list[Path]:
        return [self.root / folder for folder, _ in CHALLENGE_FIXATION_FOLDERS.values()]

    def map_video_path(self, name: str, subset: str) -> Path:
        """Where a video of `subset` ("train" or "test") has its map video in a release."""
        return self.root.joinpath(*CHALLENGE_SALIENCY_FOLDERS[subset]) / f"{name}.mp4"

    def fixations_dir(self, name: str, subset: str) -> Path:
        return self.root.joinpath(*CHALLENGE_FIXATION_FOLDERS[subset]) / name


def is_challenge_root(path: str | Path) -> bool:
    """True when `path` has the challenge's split file and video folder."""
    layout = ChallengeLayout(path)
    return layout.split_file.is_file() and layout.videos_dir.is_dir()


def fold_list_path(root: str | Path, database: str, part: Part, split: int = 1) -> Path:
    """Path of the fold list of `database` for `part` ("train"/"test") of `split` (1, 2 or 3)."""
    if part not in ("train", "test"):
        raise InputError(f"fold-list part must be 'train' or 'test', got {part!r}")
    folder = Path(root) / FOLD_LISTS_FOLDER
    if database in SINGLE_SPLIT_DATABASES:
        return folder / f"{database}_list_{part}_fps.txt"
    if split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS}, got {split!r}")
    return folder / f"{database}_list_{part}_{split}_fps.txt"


def dhf1k_part(number: int) -> str:
    """"train", "val" or "test": the DHF1K part of video `number`."""
    return next(part for part, numbers in DHF1K_PARTS.items() if number in numbers)


def dhf1k_name(number: int) -> str:
    """A DHF1K video's name everywhere (records, prediction folders, reports): 4 digits, ``0601``."""
    return f"{number:04d}"


def count_numbered(folder: Path, pattern: str) -> tuple[int, list[int]]:
    """How many files `pattern` (one ``{:0Nd}`` field, 1-based) in `folder`, and which numbers in
    1..max are missing. A missing folder counts 0."""
    if not folder.is_dir():
        return 0, []
    head, _, tail = pattern.partition("{")
    suffix = tail.split("}", 1)[1]
    regex = re.compile(re.escape(head) + r"(\d+)" + re.escape(suffix) + "$")
    numbers = {int(match.group(1)) for entry in folder.iterdir() if (match := regex.match(entry.name))}
    if not numbers:
        return 0, []
    return len(numbers), sorted(set(range(1, max(numbers) + 1)) - numbers)


def video_files(folder: Path) -> list[Path]:
    """The video files (`VIDEO_SUFFIXES`, any case) directly in `folder`, sorted by name."""
    return sorted(path for path in folder.iterdir() if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file())


def video_names(files: Sequence[Path]) -> list[str]:
    """One name per video file, unique among `files`: the folder (and fold-list) name of each video.

    The name is the file stem with whitespace replaced by '_'. Names are compared ignoring case, as a
    case-insensitive disk would. Files whose names are equal each get their extension appended
    (``clip.mp4``, ``clip.avi`` -> ``clip_mp4``, ``clip_avi``); names still equal after that
    (``A.MP4``, ``A.mp4``) each get six hex digits of a hash of the file name as well
    (``A_mp4_<hash>``). The rule depends only on the set of files, so a rerun on the same files gives
    the same names.

    Raises:
        InputError: two files would still get the same name (files with the same name in two folders,
            or a file named like another's hashed name), naming both.
    """
    # NFC: "café" typed and "café" from a macOS disk (decomposed) are one name, as they look.
    names = [re.sub(r"\s+", "_", unicodedata.normalize("NFC", path.stem).strip()) or "video" for path in files]
    for suffix in (_extension_suffix, _name_digest):
        counts = Counter(name.casefold() for name in names)
        names = [f"{name}_{suffix(path)}" if counts[name.casefold()] > 1 else name
                 for name, path in zip(names, files)]
    owners: dict[str, Path] = {}
    for name, path in zip(names, files):
        other = owners.setdefault(name.casefold(), path)
        if other != path:
            why = ("have the same file name" if other.name == path.name
                   else "would both be named " + repr(name) + " (output and dataset names ignore case)")
            raise InputError(f"{other} and {path} {why}; rename one of them")
    return names


def _extension_suffix(path: Path) -> str:
    return path.suffix.lstrip(".").lower()


def _name_digest(path: Path) -> str:
    return hashlib.sha1(path.name.encode()).hexdigest()[:6]
