"""What `diffsal predict` runs on: INPUT resolved to a list of videos, each with its frames, sound and name.

INPUT is one of:

- a video file (.mp4, .avi, .mkv, .mov, .webm, .m4v): one video, output key ``<stem>``;
- a folder of video files (one level deep, sorted): output keys ``<stem>``;
- a dataset root in the STAViS layout (``fold_lists/`` + ``video_frames/``): the videos of one part
  of one split, read from the frame folders with the wav next to them; output keys
  ``<DB>/<video>``, so that ``OUT`` is the prediction root that ``diffsal evaluate`` reads by default.

Resolving checks only what is cheap (paths, fold lists). A video that turns out unreadable fails
when it is predicted, and the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diffsal.data.fold_lists import SPLITS, read_fold_list
from diffsal.data.layout import EYE_MAP_PATTERN, StavisLayout
from diffsal.errors import InputError, MediaError
from diffsal.io.frame_folder import STAVIS_FRAME_PATTERN, FrameFolder
from diffsal.io.frame_source import FrameSource
from diffsal.io.video import VideoReader

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")
PARTS = ("test", "train")


@dataclass(frozen=True)
class VideoInput:
    """One video to predict.

    Attributes:
        key: its output folder relative to OUT (``name`` or ``DB/name``).
        frames: a video file, or a folder of numbered frames when `fps` is set.
        audio: the file whose sound goes with the frames (the video itself, or a wav); None: no sound.
        fps: frame rate of a frame folder (from the fold list); None for a video file.
        num_frames: the fold list's frame count, or None when only opening the video tells.
        ground_truth: folder of ``eyeMap_00001.jpg`` ... continuous maps, when the dataset has them.
    """

    key: str
    frames: Path
    audio: Path | None
    fps: float | None = None
    num_frames: int | None = None
    ground_truth: Path | None = None

    def open_frames(self) -> FrameSource:
        """A `VideoReader` or `FrameFolder` (raises `MediaError` for a missing or broken video)."""
        if self.fps is None:
            return VideoReader(self.frames)
        folder = FrameFolder(self.frames, self.fps, STAVIS_FRAME_PATTERN)
        if self.num_frames is not None and folder.num_frames != self.num_frames:
            raise MediaError(f"{self.frames}: {folder.num_frames} frames but the fold list says {self.num_frames}")
        return folder

    def ground_truth_path(self, index: int) -> Path | None:
        """The continuous ground-truth map of 0-based frame `index`, or None."""
        if self.ground_truth is None:
            return None
        path = self.ground_truth / EYE_MAP_PATTERN.format(index + 1)
        return path if path.is_file() else None


@dataclass(frozen=True)
class InputSpec:
    """How a STAViS dataset root is read: the databases (None: every one with fold lists), split and part."""

    databases: tuple[str, ...] | None = None
    split: str = "1"  # "1", "2", "3" or "all" (the union of the three test lists, each video once)
    part: str = "test"


def is_stavis_root(path: Path) -> bool:
    return path.is_dir() and (path / "fold_lists").is_dir() and (path / "video_frames").is_dir()


def resolve_inputs(path: str | Path, spec: InputSpec = InputSpec()) -> tuple[str, list[VideoInput]]:
    """(kind, videos) for INPUT; kind is "file", "folder" or "dataset".

    Raises:
        InputError: missing path, a file that is not a video, a folder with no videos, a dataset
            split with no videos, a bad fold list.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"{path}: not a video file (expected one of {', '.join(VIDEO_SUFFIXES)})")
        return "file", [VideoInput(path.stem, path, path)]
    if is_stavis_root(path):
        return "dataset", _dataset_videos(path, spec)
    files = sorted(item for item in path.iterdir() if item.is_file() and item.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise InputError(f"{path}: no video files ({', '.join(VIDEO_SUFFIXES)}) and not a STAViS dataset root "
                         "(fold_lists/ + video_frames/)")
    return "folder", [VideoInput(key, file, file) for key, file in zip(_unique_keys(files), files)]


def _unique_keys(files: list[Path]) -> list[str]:
    """File stems, with the extension appended where two files share a stem (clip.mp4, clip.avi)."""
    stems = [file.stem for file in files]
    return [f"{file.stem}_{file.suffix.lstrip('.').lower()}" if stems.count(file.stem) > 1 else file.stem
            for file in files]


def _dataset_videos(root: Path, spec: InputSpec) -> list[VideoInput]:
    if spec.part not in PARTS:
        raise InputError(f"--part must be one of {', '.join(PARTS)}, got {spec.part!r}")
    if spec.split == "all":
        splits = SPLITS
    elif spec.split.isdigit() and int(spec.split) in SPLITS:
        splits = (int(spec.split),)
    else:
        raise InputError(f"--split must be 1, 2, 3 or all, got {spec.split!r}")
    layout = StavisLayout(root)
    available = layout.fold_lists()
    databases = list(spec.databases) if spec.databases else sorted(available)
    unknown = [name for name in databases if name not in available]
    if unknown:
        raise InputError(f"{root}: no fold lists for {', '.join(unknown)} under fold_lists/ "
                         f"(found: {', '.join(sorted(available)) or 'none'})")
    videos: dict[str, VideoInput] = {}
    for database in databases:
        lists = []
        for split in splits:
            path = layout.fold_list(database, spec.part, split)
            if path.is_file() or spec.split != "all":
                lists.append(read_fold_list(path))
        for fold_list in lists:
            for entry in fold_list.entries:
                key = f"{database}/{entry.video}"
                if key in videos:
                    continue
                wav = layout.wav_path(database, entry.video)
                maps = layout.maps_dir(database, entry.video)
                videos[key] = VideoInput(
                    key=key,
                    frames=layout.frames_dir(database, entry.video),
                    audio=wav if wav.is_file() else None,
                    fps=entry.fps,
                    num_frames=entry.num_frames,
                    ground_truth=maps if maps.is_dir() else None,
                )
    if not videos:
        raise InputError(f"{root}: the {spec.part} lists of split {spec.split} for {', '.join(databases)} name no videos")
    return list(videos.values())
