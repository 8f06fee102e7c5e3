"""DHF1K, the video saliency benchmark (video only; used for visual pre-training): its layouts on disk
(`find_dhf1k_videos`, the one reader that training, prediction, evaluation and ``data check`` share)
and `DHF1KDataset`.

Two layouts are understood, also mixed:

- official: ``video/001.AVI ... 700.AVI`` decoded directly, and ``annotation/0001/maps/0001.png``,
  ``annotation/0001/fixation/0001.png`` (frame k of the AVI, 0-based, is map ``k+1``);
- extracted frames: ``<root>/0001/{images,maps,fixation}/0001.png``, also under ``<root>/train/``,
  ``<root>/val/`` and ``<root>/test/``; images may be .png or .jpg.

Videos 1-600 are "train", 601-700 "val", 701-1000 "test" (no public annotations), by number
whatever folder they are in. Every item has ``has_audio=False`` and silent audio (what the model's
audio transform gives without a sound track). Frame rate: the AVI's own, nominally 30 fps (`DHF1K_FPS`
for extracted frames).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from diffsal.data.clip_dataset import ClipDataset, report_skipped
from diffsal.data.layout import count_numbered
from diffsal.data.records import VideoRecord, folder_problems, summarise, summarise_videos
from diffsal.data.sampling import DEFAULT_TRAIN_STRIDE, Sampling
from diffsal.errors import DatasetError, InputError, MediaError
from diffsal.io.clip import ResizeMode
from diffsal.models.preprocessing import Preprocessing
from diffsal.io.video import VideoReader

DHF1K_NAME = "DHF1K"
DHF1K_FPS = 30.0
DHF1K_PARTS = {"train": range(1, 601), "val": range(601, 701), "test": range(701, 1001)}
DHF1K_PATTERN = "{:04d}.png"
MAPS_DIR = "maps"
FIXATIONS_DIR = "fixation"
IMAGES_DIR = "images"
_VIDEO_SUFFIXES = (".avi", ".mp4")
_EXTRACTED_PARENTS = ("annotation", ".", "train", "val", "test")


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
        return f"{self.number:04d}"

    @property
    def part(self) -> str:
        return next(part for part, numbers in DHF1K_PARTS.items() if self.number in numbers)

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
        for suffix in (".png", ".jpg"):
            pattern = "{:04d}" + suffix
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
    official = root / "video"
    if official.is_dir():
        for path in sorted(official.iterdir()):
            if path.suffix.lower() in _VIDEO_SUFFIXES and path.stem.isdigit() and path.is_file():
                frames.setdefault(int(path.stem), path)
    for parent in _EXTRACTED_PARENTS:
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
        default = path.parent if path is not None and path.name == IMAGES_DIR else root / "annotation" / f"{number:04d}"
        videos.append(DHF1KVideo(number, path, annotations.get(number, default)))
    return videos


def is_dhf1k_root(path: str | Path) -> bool:
    """True when `path` holds DHF1K videos or annotations in either layout."""
    path = Path(path)
    return path.is_dir() and bool(find_dhf1k_videos(path))


class DHF1KDataset(ClipDataset):
    """Clips of DHF1K (item format: `diffsal.data.clip_dataset`; ``has_audio`` is always False).

    Args:
        root: the DHF1K folder (either layout).
        part: "train" (videos 1-600), "val" (601-700) or "test" (701-1000; use ``annotations=False``).
        sampling: default sparse for "train", dense otherwise.
        skip_bad: leave out videos with problems (listed in `skipped`) instead of raising.
        Other arguments: see `ClipDataset`.

    Raises:
        DatasetError: no videos of the part, or videos with problems (without `skip_bad`; the
            message names the first few and how many there are).
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
        preprocessing: Preprocessing | None = None,
        resize_mode: ResizeMode = "stretch",
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
        candidates = [dhf1k_record(video, annotations)
                      for video in find_dhf1k_videos(self.root, (part,)) if video.frames is not None]
        if not candidates:
            numbers = DHF1K_PARTS[part]
            raise DatasetError(f"{self.root}: no DHF1K videos of the {part} part (numbers {numbers[0]}-{numbers[-1]}) "
                               "in either layout (video/NNN.AVI or NNNN/images/)")
        records = [record for record, problems in candidates if not problems]
        skipped = [summarise(problems) for _, problems in candidates if problems]
        if skipped and not skip_bad:
            raise DatasetError(summarise_videos(skipped) + " (skip_bad / data.skip_bad leaves such videos out)")
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
            preprocessing=preprocessing,
            resize_mode=resize_mode,
            annotations=annotations,
            cached_videos=cached_videos,
            skipped=skipped,
        )


def dhf1k_record(video: DHF1KVideo, annotations: bool) -> tuple[VideoRecord, list[str]]:
    """The record of a video that has frames, and the problems that make it unusable (empty if none).

    The frame count is the number of images, or for a video file the number of maps (the AVI is
    opened to count its frames only without annotations).
    """
    if video.frames is None:
        raise InputError(f"{video.annotation}: DHF1K video {video.name} has no frames")
    problems: list[str] = []
    pattern = video.frame_pattern()
    if video.is_file:
        if video.frames.stat().st_size == 0:
            problems.append(f"{video.frames}: video file is empty")
        num_frames = count_numbered(video.maps, DHF1K_PATTERN)[0] if annotations else _count_video_frames(video.frames, problems)
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
    )
    return record, problems


def _count_video_frames(path: Path, problems: list[str]) -> int:
    try:
        with VideoReader(path) as reader:
            return reader.num_frames
    except MediaError as error:
        problems.append(str(error))
        return 0
