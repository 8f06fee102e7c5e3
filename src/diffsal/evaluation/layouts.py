"""Where the ground truth of a benchmark lives on disk, and which videos (and frames) are scored.

STAViS layout (the six audio-visual benchmarks)::

    annotations/<DB>/<video>/maps/eyeMap_00001.jpg   continuous map, 1-based frames
    annotations/<DB>/<video>/fixMap_00001.mat        binary fixations, MAT variable "eyeMap"
    fold_lists/<DB>_list_test_<split>_fps.txt        the videos scored and their frame counts

DHF1K layout: ``annotation/<NNNN>/{maps,fixation}/<NNNN>.png`` or the extracted
``<root>/<NNNN>/{maps,fixation}/<NNNN>.png`` (also under ``train/``, ``val/``, ``test/``), read by
`diffsal.data.dhf1k.find_dhf1k_videos` as training reads it; videos 0001-0600 are training,
0601-0700 validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diffsal.data.dhf1k import DHF1K_NAME, DHF1K_PARTS, find_dhf1k_videos, is_dhf1k_root
from diffsal.data.fold_lists import SPLITS, SplitCoverage, split_coverage
from diffsal.data.records import summarise_videos
from diffsal.errors import DatasetError, InputError
from diffsal.io.paths import absence, check_input_path

LAYOUTS = ("stavis", "dhf1k")
DHF1K_SPLITS = (*DHF1K_PARTS, "all")


@dataclass(frozen=True)
class GroundTruthVideo:
    """The annotation files of one video: `folder / template.format(frame=n)` for each scored frame."""

    database: str
    video: str
    folder: Path
    frames: tuple[int, ...]
    map_template: str
    fixation_template: str

    def map_path(self, frame: int) -> Path:
        return self.folder / self.map_template.format(frame=frame)

    def fixation_path(self, frame: int) -> Path:
        return self.folder / self.fixation_template.format(frame=frame)


@dataclass(frozen=True)
class EvaluationUnit:
    """One scored (video, split) pair: the split is the fold whose model predicted it, or None."""

    ground_truth: GroundTruthVideo
    split: int | None

    @property
    def database(self) -> str:
        return self.ground_truth.database

    @property
    def video(self) -> str:
        return self.ground_truth.video


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
    """'stavis' or 'dhf1k' from the folders under `root`; DatasetError naming what was expected."""
    root = check_input_path(root, "dataset folder")
    if not root.is_dir():
        raise InputError(f"{root}: not a folder (expected a dataset root)")
    if (root / "annotations").is_dir():
        return "stavis"
    if is_dhf1k_root(root):
        return "dhf1k"
    raise DatasetError(
        f"{root}: unknown dataset layout: expected annotations/<DB>/<video>/maps/eyeMap_00001.jpg (STAViS) "
        "or annotation/<NNNN>/maps/0001.png, <NNNN>/maps/0001.png, train|val/<NNNN>/maps/0001.png (DHF1K)")


def load_benchmark(root: str | Path, *, layout: str = "auto", databases: list[str] | None = None,
                   split: str = "default", per_split: bool = True) -> Benchmark:
    """Find the units to score.

    Args:
        layout: "auto", "stavis" or "dhf1k".
        databases: STAViS database names (default: every folder under ``annotations/``).
        split: STAViS "all" (default; the three test lists pooled) or "1"/"2"/"3";
            DHF1K "val" (default), "train", "test" or "all" (every annotated video).
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
            raise InputError(f"--datasets does not apply to the DHF1K layout (got {', '.join(databases)})")
        return _load_dhf1k(root, "val" if split == "default" else split)
    raise InputError(f"unknown layout {layout!r}; choose auto, {', '.join(LAYOUTS)}")


def _load_stavis(root: Path, databases: list[str] | None, split: str, per_split: bool) -> Benchmark:
    if split == "all":
        splits = SPLITS
    elif split in {str(number) for number in SPLITS}:
        splits = (int(split),)
    else:
        raise InputError(f"split for the STAViS layout must be all, 1, 2 or 3, got {split!r}")
    annotations = root / "annotations"
    if not annotations.is_dir():
        raise DatasetError(f"{annotations}: folder not found (STAViS layout: annotations/<DB>/<video>/maps/)")
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
            folder = annotations / database / video
            if not (folder / "maps").is_dir():
                missing.append(f"{folder / 'maps'}: annotation folder of {database}/{video} {absence(folder / 'maps')}")
                continue
            ground_truth = GroundTruthVideo(database, video, folder, tuple(range(1, entry.num_frames + 1)),
                                            "maps/eyeMap_{frame:05d}.jpg", "fixMap_{frame:05d}.mat")
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
        width = len(maps[0].stem)
        ground_truth = GroundTruthVideo(DHF1K_NAME, video.name, video.annotation, tuple(int(path.stem) for path in maps),
                                        f"maps/{{frame:0{width}d}}.png", f"fixation/{{frame:0{width}d}}.png")
        units.append(EvaluationUnit(ground_truth, None))
    if empty:
        raise DatasetError(summarise_videos(empty))
    return Benchmark(root, "dhf1k", units, {})
