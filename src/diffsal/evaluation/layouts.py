"""Where the ground truth of a benchmark lives on disk, and which videos (and frames) are scored.

STAViS layout (the six audio-visual benchmarks): each test-list video's continuous maps and binary
fixations (MAT variable "eyeMap"), 1-based frames; the test fold lists name the videos scored and their
frame counts. DHF1K layout: the maps and fixation maps of each annotated video, found as training finds
them. Challenge layout (AIM 2024 / NTIRE 2026): the videos of one part of ``TrainTestSplit.json``, every frame of
each one's map video, with frame k's fixations the k-th list of its ``fixations.json`` (`diffsal.data.ground_truth`
reads both); the challenge's own scoring is `diffsal.evaluation.challenge`. File names: `diffsal.data.layout`;
records: `diffsal.data.index`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from diffsal.data.fold_lists import SPLITS, SplitCoverage, split_coverage
from diffsal.data.index import dhf1k_annotation_record, find_dhf1k_videos, is_dhf1k_root, stavis_record
from diffsal.data.challenge import part_ground_truth, read_fixations
from diffsal.data.layout import (CHALLENGE_DEFAULT_PART, CHALLENGE_NAME, DHF1K_NAME, DHF1K_PARTS, EXAMPLE_EYE_MAP,
                                 ChallengeLayout, StavisLayout, is_challenge_root)
from diffsal.data.video_record import VideoRecord, summarise_videos
from diffsal.errors import DatasetError, InputError
from diffsal.io.paths import absence, check_input_path
from diffsal.io.video import VideoReader

LAYOUTS = ("stavis", "dhf1k", "challenge")
DHF1K_SPLITS = (*DHF1K_PARTS, "all")


@dataclass(frozen=True)
class GroundTruthVideo:
    """The annotations of one video as evaluation reads them: a view of its `VideoRecord` and the frames
    scored (1-based)."""

    record: VideoRecord
    frames: tuple[int, ...]
    database: str = field(init=False)  # the record's dataset and video
    video: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "database", self.record.dataset)
        object.__setattr__(self, "video", self.record.video)

    @property
    def folder(self) -> Path:
        """The video's annotation folder (that holds ``maps/``, or the map video)."""
        return Path(self.record.maps).parent

    def map_path(self, frame: int) -> Path:
        return self.record.map_path(frame - 1)

    def fixation_path(self, frame: int) -> Path:
        return self.record.fixation_path(frame - 1)


@dataclass(frozen=True)
class EvaluationUnit:
    """One scored (video, split) pair: the split is the fold whose model predicted it, or None."""

    ground_truth: GroundTruthVideo
    split: int | None
    database: str = field(init=False)  # the ground truth's database and video
    video: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "database", self.ground_truth.database)
        object.__setattr__(self, "video", self.ground_truth.video)


@dataclass
class Benchmark:
    """What `evaluate` scores: the layout, the units in order, and per-database split coverage."""

    root: Path
    layout: str
    units: list[EvaluationUnit]
    coverage: dict[str, SplitCoverage]

    @property
    def databases(self) -> list[str]:
        return list(dict.fromkeys(unit.database for unit in self.units))


def detect_layout(root: str | Path) -> str:
    """'stavis', 'dhf1k' or 'challenge' from the files under `root`; DatasetError naming what was expected."""
    root = check_input_path(root, "dataset folder")
    if not root.is_dir():
        raise InputError(f"{root}: not a folder (expected a dataset root)")
    if StavisLayout(root).annotations_dir().is_dir():
        return "stavis"
    if is_dhf1k_root(root):
        return "dhf1k"
    if is_challenge_root(root):
        return "challenge"
    raise DatasetError(
        f"{root}: unknown dataset layout: expected {EXAMPLE_EYE_MAP} (STAViS), "
        "annotation/<NNNN>/maps/0001.png, <NNNN>/maps/0001.png, train|val/<NNNN>/maps/0001.png (DHF1K) "
        "or Videos/ + TrainTestSplit.json (challenge)")


def load_benchmark(root: str | Path, *, layout: str = "auto", databases: list[str] | None = None,
                   split: str = "default", per_split: bool = True) -> Benchmark:
    """Find the units to score.

    Args:
        layout: "auto", "stavis", "dhf1k" or "challenge".
        databases: STAViS database names (default: every folder under ``annotations/``).
        split: STAViS "all" (default; the three test lists pooled) or "1"/"2"/"3";
            DHF1K "val" (default), "train", "test" or "all" (every annotated video);
            challenge "public_test" (default), "private_test", "test", "train" or "val" (`part_names`).
        per_split: one unit per (video, split) when predictions differ per split model; otherwise
            a video tested by several splits is scored once.
    """
    root = Path(root)
    if layout == "auto":
        layout = detect_layout(root)
    else:
        check_input_path(root, "dataset folder")
    if layout == "stavis":
        return _load_stavis(root, databases, "all" if split == "default" else split, per_split)
    if layout == "dhf1k":
        if databases and databases != [DHF1K_NAME]:
            raise InputError(f"--db does not apply to the DHF1K layout (got {', '.join(databases)})")
        return _load_dhf1k(root, "val" if split == "default" else split)
    if layout == "challenge":
        if databases and databases != [CHALLENGE_NAME]:
            raise InputError(f"--db does not apply to a challenge root (got {', '.join(databases)})")
        return _load_challenge(root, CHALLENGE_DEFAULT_PART if split == "default" else split)
    raise InputError(f"unknown layout {layout!r}; choose auto, {', '.join(LAYOUTS)}")


def _load_stavis(root: Path, databases: list[str] | None, split: str, per_split: bool) -> Benchmark:
    if split == "all":
        splits = SPLITS
    elif split in {str(number) for number in SPLITS}:
        splits = (int(split),)
    else:
        raise InputError(f"split for the STAViS layout must be all, 1, 2 or 3, got {split!r}")
    layout = StavisLayout(root)
    annotations = layout.annotations_dir()
    if not annotations.is_dir():
        raise DatasetError(f"{annotations}: folder not found (STAViS layout: {EXAMPLE_EYE_MAP.rsplit('/', 1)[0]}/)")
    if databases is None:
        databases = sorted(path.name for path in annotations.iterdir() if path.is_dir())
        if not databases:
            raise DatasetError(f"{annotations}: no database folders")
    units: list[EvaluationUnit] = []
    coverage: dict[str, SplitCoverage] = {}
    missing: list[str] = []
    for database in databases:
        if not (annotations / database).is_dir():
            raise DatasetError(f"{annotations / database}: database folder not found")
        coverage[database] = split_coverage(root, database, splits)
        for video, tested_in in coverage[database].tested_in.items():
            entry = coverage[database].entry(video)
            record, _ = stavis_record(layout, database, entry, annotations=True, audio="none", check=False)
            maps = Path(record.maps)
            if not maps.is_dir():
                missing.append(f"{maps}: annotation folder of {database}/{video} {absence(maps)}")
                continue
            ground_truth = GroundTruthVideo(record, tuple(range(1, entry.num_frames + 1)))
            for unit_split in (tested_in if per_split else (None,)):
                units.append(EvaluationUnit(ground_truth, unit_split))
    if missing:
        raise DatasetError(summarise_videos(missing) + " (diffsal data check ROOT lists every problem)")
    return Benchmark(root, "stavis", units, coverage)


def _load_dhf1k(root: Path, split: str) -> Benchmark:
    if split not in DHF1K_SPLITS:
        raise InputError(f"split for the DHF1K layout must be val, train, test or all, got {split!r}")
    videos = [video for video in find_dhf1k_videos(root, DHF1K_PARTS if split == "all" else (split,))
              if video.annotated]
    if not videos:
        raise DatasetError(f"{root}: no annotated DHF1K videos (<NNNN>/maps/) of split {split!r}")
    units, empty = [], []
    for video in videos:
        maps = sorted(path for path in video.maps.glob("*.png") if path.stem.isdigit())
        if not maps:
            empty.append(f"{video.maps}: no <NNNN>.png maps")
            continue
        ground_truth = GroundTruthVideo(dhf1k_annotation_record(video, len(maps[0].stem)),
                                        tuple(int(path.stem) for path in maps))
        units.append(EvaluationUnit(ground_truth, None))
    if empty:
        raise DatasetError(summarise_videos(empty))
    return Benchmark(root, "dhf1k", units, {})


def _load_challenge(root: Path, part: str) -> Benchmark:
    """Every frame of each map video of `part`; a fixation list of another length is an error (the challenge's
    own script would pair the shorter of the two and score the rest of the video silently unscored)."""
    layout = ChallengeLayout(root)
    units, mismatched = [], []
    for name, map_video, fixations in part_ground_truth(layout, part):
        with VideoReader(map_video) as reader:
            num_frames, size = reader.num_frames, reader.size
        listed = len(read_fixations(fixations, size))
        if listed != num_frames:
            mismatched.append(f"{fixations}: {listed} frames of fixations but the map video {map_video.name} has "
                              f"{num_frames}")
            continue
        record = VideoRecord(dataset=CHALLENGE_NAME, video=name, fps=0.0, num_frames=num_frames,
                             frames=str(layout.video_path(name)), frame_pattern=None, maps=str(map_video),
                             fixations=str(fixations))
        units.append(EvaluationUnit(GroundTruthVideo(record, tuple(range(1, num_frames + 1))), None))
    if mismatched:
        raise DatasetError(summarise_videos(mismatched))
    return Benchmark(root, "challenge", units, {})
