"""`DHF1KDataset`: the DHF1K video saliency benchmark (video only; used for visual pre-training).

Two layouts are understood (DESIGN.md section 3):

- official: ``video/001.AVI ... 700.AVI`` decoded directly, and ``annotation/0001/maps/0001.png``,
  ``annotation/0001/fixation/0001.png`` (frame k of the AVI, 0-based, is map ``k+1``);
- extracted frames: ``<root>/0001/{images,maps,fixation}/0001.png`` (also under
  ``<root>/train/`` and ``<root>/val/``); images may be .png or .jpg.

Videos 1-600 are "train", 601-700 "val", 701-1000 "test" (no public annotations). Every item
has ``has_audio=False`` and a silent audio window. Frame rate: the AVI's own, nominally 30 fps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from diffsal.data.clip_dataset import DEFAULT_AUDIO_WINDOW_S, ClipDataset, report_skipped
from diffsal.data.layout import count_numbered
from diffsal.data.records import VideoRecord, folder_problems, summarise
from diffsal.data.sampling import DEFAULT_TRAIN_STRIDE, Sampling
from diffsal.errors import DatasetError, InputError, MediaError
from diffsal.io.clip import ResizeMode
from diffsal.io.video import VideoReader

DHF1K_FPS = 30.0
DHF1K_PARTS = {"train": range(1, 601), "val": range(601, 701), "test": range(701, 1001)}
DHF1K_PATTERN = "{:04d}.png"
_VIDEO_SUFFIXES = (".avi", ".mp4")


class DHF1KDataset(ClipDataset):
    """Clips of DHF1K (item format: `diffsal.data.clip_dataset`; ``has_audio`` is always False).

    Args:
        root: the DHF1K folder (either layout).
        part: "train" (videos 1-600), "val" (601-700) or "test" (701-1000; use ``annotations=False``).
        sampling: default sparse for "train", dense otherwise.
        skip_bad: leave out videos with problems (listed in `skipped`) instead of raising.
        Other arguments: see `ClipDataset`.
    """

    def __init__(
        self,
        root: str | Path,
        part: Literal["train", "val", "test"] = "train",
        *,
        sampling: Sampling | None = None,
        stride: int = DEFAULT_TRAIN_STRIDE,
        random_offset: bool = False,
        seed: int = 0,
        clip_length: int = 16,
        frames_out: int = 1,
        size: tuple[int, int] = (224, 384),
        resize_mode: ResizeMode = "stretch",
        audio_window_s: float = DEFAULT_AUDIO_WINDOW_S,
        annotations: bool = True,
        skip_bad: bool = False,
        cached_videos: int = 4,
    ) -> None:
        if part not in DHF1K_PARTS:
            raise InputError(f"DHF1K part must be 'train', 'val' or 'test', got {part!r}")
        self.root = Path(root)
        self.part = part
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: DHF1K folder not found")
        wanted = set(DHF1K_PARTS[part])
        if (self.root / "video").is_dir():
            candidates = _official_records(self.root, wanted, annotations)
        else:
            candidates = _extracted_records(self.root, wanted, annotations)
        if not candidates:
            raise DatasetError(f"{self.root}: no DHF1K videos of the {part} part (numbers {min(wanted)}-{max(wanted)}) "
                               "in either layout (video/NNN.AVI or NNNN/images/)")
        records, skipped = [], []
        for record, problems in candidates:
            if not problems:
                records.append(record)
            elif skip_bad:
                skipped.append(summarise(problems))
            else:
                raise DatasetError(summarise(problems))
        if not records:
            raise DatasetError(f"{self.root}: no usable DHF1K videos; skipped: {'; '.join(skipped)}")
        report_skipped(f"DHF1KDataset({self.root}, {part})", skipped)
        super().__init__(
            records,
            sampling=sampling or ("sparse" if part == "train" else "dense"),
            stride=stride,
            random_offset=random_offset,
            seed=seed,
            clip_length=clip_length,
            frames_out=frames_out,
            size=size,
            resize_mode=resize_mode,
            audio_window_s=audio_window_s,
            annotations=annotations,
            cached_videos=cached_videos,
            skipped=skipped,
        )


def _official_records(root: Path, wanted: set[int], annotations: bool) -> list[tuple[VideoRecord, list[str]]]:
    found = []
    for path in sorted((root / "video").iterdir()):
        if path.suffix.lower() not in _VIDEO_SUFFIXES or not path.stem.isdigit() or int(path.stem) not in wanted:
            continue
        number = int(path.stem)
        folder = root / "annotation" / f"{number:04d}"
        problems: list[str] = []
        if annotations:
            num_frames, _ = count_numbered(folder / "maps", DHF1K_PATTERN)
            problems += folder_problems(folder / "maps", DHF1K_PATTERN, "maps", None)
            problems += folder_problems(folder / "fixation", DHF1K_PATTERN, "fixation maps", num_frames or None)
        else:
            num_frames = _count_video_frames(path, problems)
        if path.stat().st_size == 0:
            problems.append(f"{path}: video file is empty")
        record = VideoRecord(
            dataset="DHF1K", video=f"{number:04d}", fps=DHF1K_FPS, num_frames=max(num_frames, 0),
            frames=str(path), frame_pattern=None,
            maps=str(folder / "maps") if annotations else None, map_pattern=DHF1K_PATTERN,
            fixations=str(folder / "fixation") if annotations else None, fixation_pattern=DHF1K_PATTERN,
        )
        found.append((record, problems))
    return found


def _extracted_records(root: Path, wanted: set[int], annotations: bool) -> list[tuple[VideoRecord, list[str]]]:
    folders = {}
    for parent in (root, root / "train", root / "val", root / "test"):
        if parent.is_dir():
            for entry in parent.iterdir():
                if entry.is_dir() and entry.name.isdigit() and int(entry.name) in wanted and (entry / "images").is_dir():
                    folders.setdefault(int(entry.name), entry)
    found = []
    for number in sorted(folders):
        folder = folders[number]
        pattern = _image_pattern(folder / "images")
        problems = folder_problems(folder / "images", pattern, "frames", None)
        num_frames, _ = count_numbered(folder / "images", pattern)
        if annotations:
            problems += folder_problems(folder / "maps", DHF1K_PATTERN, "maps", num_frames)
            problems += folder_problems(folder / "fixation", DHF1K_PATTERN, "fixation maps", num_frames)
        record = VideoRecord(
            dataset="DHF1K", video=f"{number:04d}", fps=DHF1K_FPS, num_frames=num_frames,
            frames=str(folder / "images"), frame_pattern=pattern,
            maps=str(folder / "maps") if annotations else None, map_pattern=DHF1K_PATTERN,
            fixations=str(folder / "fixation") if annotations else None, fixation_pattern=DHF1K_PATTERN,
        )
        found.append((record, problems))
    return found


def _image_pattern(folder: Path) -> str:
    """``{:04d}.png`` or ``{:04d}.jpg``, whichever the folder holds."""
    for suffix in (".png", ".jpg"):
        pattern = "{:04d}" + suffix
        if count_numbered(folder, pattern)[0]:
            return pattern
    return DHF1K_PATTERN


def _count_video_frames(path: Path, problems: list[str]) -> int:
    try:
        with VideoReader(path) as reader:
            return reader.num_frames
    except MediaError as error:
        problems.append(str(error))
        return 0
