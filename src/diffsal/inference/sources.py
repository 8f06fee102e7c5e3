"""What `diffsal predict` runs on: INPUT resolved to a list of videos, each with its frames, sound and name.

INPUT is one of:

- a video file (.mp4, .avi, .mkv, .mov, .webm, .m4v): one video;
- a folder of video files (one level deep, sorted); each video's output key is its name by
  `diffsal.data.layout.video_names` (the stem; ``<stem>_<ext>`` for files that share a stem), the
  rule `diffsal prepare` names videos by;
- a dataset root in the STAViS layout (``fold_lists/`` + ``video_frames/``): the videos of one part
  of one split, read from the frame folders with the wav next to them; output keys ``<DB>/<video>``;
- a DHF1K root in any layout that training reads (`diffsal.data.index.find_dhf1k_videos`): the
  videos of one part (val by default), from the AVIs or the extracted images; output keys
  ``DHF1K/<NNNN>``;
- a challenge root (``TrainTestSplit.json`` + ``Videos/``, `diffsal.data.challenge`): the videos of one
  part (public_test by default, private_test, test or train) with their sound; output keys ``<name>``, so
  that ``--format challenge`` writes ``OUT/<name>.mp4``, a submission as it stands.

For the datasets, ``OUT`` is then the prediction root that ``diffsal evaluate`` reads by default.
Resolving checks only what is cheap (paths, fold lists). A video that turns out unreadable fails
when it is predicted, and the others go on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from diffsal.data.challenge import challenge_candidates
from diffsal.data.index import dhf1k_index, is_dhf1k_root, stavis_index
from diffsal.data.layout import (CHALLENGE_DEFAULT_PART, CHALLENGE_NAME, CHALLENGE_SPLIT_FILE, DHF1K_FPS,
                                 DHF1K_NAME, DHF1K_PARTS, EYE_MAP_PATTERN, FOLD_LISTS_FOLDER, FRAMES_FOLDER, SPLITS,
                                 STAVIS_FRAME_PATTERN, VIDEO_SUFFIXES, StavisLayout, is_challenge_root, output_key,
                                 stavis_result_key, video_files, video_names)
from diffsal.data.video_record import VideoRecord, summarise_videos
from diffsal.errors import InputError, MediaError
from diffsal.io.frame_folder import FrameFolder
from diffsal.io.frame_source import FrameSource
from diffsal.io.paths import check_input_path
from diffsal.io.video import VideoReader

STAVIS_PARTS = ("test", "train")


@dataclass(frozen=True)
class VideoInput:
    """One video to predict.

    Attributes:
        key: its output folder relative to OUT (``name`` or ``DB/name``).
        frames: a video file, or a folder of numbered frames when `fps` is set.
        audio: the file whose sound goes with the frames (the video itself, or a wav); None: no sound.
        fps: frame rate of a frame folder (from the fold list); None for a video file.
        num_frames: the fold list's frame count, or None when only opening the video tells.
        ground_truth: folder of the continuous maps (`map_pattern`, 1-based), when the dataset has them.
        frame_pattern: the naming of a frame folder's files (1-based); not used for a video file.
        map_pattern: the naming of the ground-truth maps (1-based).
        missing_audio: the wav that the dataset should have for this video but does not.
    """

    key: str
    frames: Path
    audio: Path | None
    fps: float | None = None
    num_frames: int | None = None
    ground_truth: Path | None = None
    frame_pattern: str | None = STAVIS_FRAME_PATTERN
    map_pattern: str = EYE_MAP_PATTERN
    missing_audio: Path | None = None

    @classmethod
    def from_record(cls, record: VideoRecord, key: str) -> VideoInput:
        """The view of a dataset's record (`diffsal.data.index.records`) that prediction reads: a wav that is
        absent or empty is `missing_audio`; a DHF1K video file brings its own sound track, if any."""
        maps = Path(record.maps) if record.maps is not None else None
        frames = Path(record.frames)
        dhf1k = record.dataset == DHF1K_NAME and record.wav is None
        return cls(
            key=key,
            frames=frames,
            audio=Path(record.audio) if record.audio is not None else (frames if dhf1k and record.is_file else None),
            fps=None if record.is_file else (DHF1K_FPS if dhf1k else record.fps),
            num_frames=None if dhf1k or record.is_file else record.num_frames,
            ground_truth=maps if maps is not None and maps.is_dir() else None,
            frame_pattern=record.frame_pattern,
            map_pattern=record.map_pattern,
            missing_audio=Path(record.wav) if record.wav is not None and record.audio is None else None,
        )

    def open_frames(self) -> FrameSource:
        """A `VideoReader` or `FrameFolder` (raises `MediaError` for a missing or broken video)."""
        if self.fps is None:
            return VideoReader(self.frames)
        folder = FrameFolder(self.frames, self.fps, self.frame_pattern)
        if self.num_frames is not None and folder.num_frames != self.num_frames:
            raise MediaError(f"{self.frames}: {folder.num_frames} frames but the fold list says {self.num_frames}")
        return folder

    def ground_truth_path(self, index: int) -> Path | None:
        """The continuous ground-truth map of 0-based frame `index`, or None."""
        if self.ground_truth is None:
            return None
        path = self.ground_truth / self.map_pattern.format(index + 1)
        return path if path.is_file() else None


@dataclass(frozen=True)
class InputSpec:
    """How a dataset root is read; None chooses the layout's default.

    Attributes:
        databases: STAViS databases (None: every one with fold lists); DHF1K: only "DHF1K".
        split: STAViS "1" (default), "2", "3" or "all" (the union of the three lists, each video once);
            not used by DHF1K.
        part: STAViS "test" (default) or "train"; DHF1K "val" (default), "train" or "test"; challenge
            "public_test" (default), "private_test", "test" (both) or "train".
    """

    databases: tuple[str, ...] | None = None
    split: str | None = None
    part: str | None = None


def is_stavis_root(path: Path) -> bool:
    return path.is_dir() and (path / FOLD_LISTS_FOLDER).is_dir() and (path / FRAMES_FOLDER).is_dir()


def resolve_inputs(path: str | Path, spec: InputSpec = InputSpec(), map_format: str = "png") -> tuple[str, list[VideoInput]]:
    """(kind, videos) for INPUT; kind is "file", "folder", "dataset" (STAViS), "DHF1K dataset" or "challenge
    dataset".

    With `map_format` "stavis" the videos of a STAViS dataset get the keys of the MATLAB evaluation's tree
    (``split<N>_results/<db folder>/<video>``), which has one folder per split: split "all" is refused then.

    Raises:
        InputError: a missing or unreadable path (a symbolic link loop, ...), a file that is not a
            video, dataset options for a file or a folder of videos, a folder with no videos, two videos that would get the same name, a dataset part
            with no videos, a bad fold list.
    """
    path = check_input_path(path)
    is_dataset = path.is_dir() and (is_stavis_root(path) or is_dhf1k_root(path) or is_challenge_root(path))
    given = [flag for flag, value in (("--db", spec.databases), ("--split", spec.split), ("--part", spec.part))
             if value is not None]
    if given and not is_dataset:
        raise InputError(f"{', '.join(given)} only apply to a dataset root; {path} is a "
                         f"{'video file' if path.is_file() else 'folder of videos'}, all of which are predicted")
    if path.is_file():
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"{path}: not a video file (expected one of {', '.join(VIDEO_SUFFIXES)})")
        VideoReader(path).close()  # one video asked for: an unreadable one is bad input, not a failed batch
        return "file", [VideoInput(video_names([path])[0], path, path)]
    if is_stavis_root(path):
        return "dataset", _stavis_videos(path, spec, stavis_tree=map_format == "stavis")
    if is_dhf1k_root(path):
        return "DHF1K dataset", _dhf1k_videos(path, spec)
    if is_challenge_root(path):
        return "challenge dataset", _challenge_videos(path, spec)
    files = video_files(path)
    if not files:
        raise InputError(f"{path}: no video files ({', '.join(VIDEO_SUFFIXES)}) and not a dataset root "
                         "(STAViS: fold_lists/ + video_frames/; DHF1K: video/ + annotation/ or <NNNN>/images/; "
                         "challenge: Videos/ + TrainTestSplit.json)")
    return "folder", [VideoInput(key, file, file) for key, file in zip(video_names(files), files)]


def _stavis_videos(root: Path, spec: InputSpec, stavis_tree: bool = False) -> list[VideoInput]:
    part = spec.part or "test"
    split = spec.split or "1"
    if part not in STAVIS_PARTS:
        raise InputError(f"--part for a STAViS dataset must be one of {', '.join(STAVIS_PARTS)}, got {part!r}")
    if split != "all" and not (split.isdigit() and int(split) in SPLITS):
        raise InputError(f"--split must be 1, 2, 3 or all, got {split!r}")
    if stavis_tree and split == "all":
        raise InputError("--format stavis writes the MATLAB evaluation's tree, one folder per split "
                         "(split<N>_results/): predict each split with its own model (--split 1, 2 or 3)")
    layout = StavisLayout(root)
    available = layout.fold_lists()
    databases = list(spec.databases) if spec.databases else sorted(available)
    unknown = [name for name in databases if name not in available]
    if unknown:
        raise InputError(f"{root}: no fold lists for {', '.join(unknown)} under fold_lists/ "
                         f"(found: {', '.join(sorted(available)) or 'none'})")
    index = stavis_index(root, databases, split, part, audio="optional", validation_fraction=0.0, check=False)
    def key(record: VideoRecord) -> str:
        if stavis_tree:
            return stavis_result_key(record.dataset, record.video, int(split))
        return output_key(record.dataset, record.video)

    videos = [VideoInput.from_record(record, key(record)) for record in index.all_records]
    if not videos:
        raise InputError(f"{root}: the {part} lists of split {split} for {', '.join(databases)} name no videos")
    return videos


def _dhf1k_videos(root: Path, spec: InputSpec) -> list[VideoInput]:
    """The videos of one DHF1K part that have frames; DHF1K has no sound (an AVI's own track is used if any)."""
    part = spec.part or "val"
    if part not in DHF1K_PARTS:
        raise InputError(f"--part for DHF1K must be one of {', '.join(DHF1K_PARTS)}, got {part!r}")
    if spec.split is not None:
        raise InputError("--split does not apply to DHF1K (its parts are fixed: --part val, train or test)")
    if spec.databases and spec.databases != (DHF1K_NAME,):
        raise InputError(f"--db does not apply to DHF1K (got {', '.join(spec.databases)})")
    videos = [VideoInput.from_record(record, output_key(record.dataset, record.video))
              for record in dhf1k_index(root, part, check=False).all_records]
    if not videos:
        numbers = DHF1K_PARTS[part]
        raise InputError(f"{root}: no DHF1K videos with frames of the {part} part (numbers {numbers[0]}-{numbers[-1]}; "
                         "video/NNN.AVI or NNNN/images/); choose another --part")
    return videos


def _challenge_videos(root: Path, spec: InputSpec) -> list[VideoInput]:
    """The videos of one part of a challenge root, each under its own name; a listed video that is absent is bad
    input (before anything is predicted)."""
    if spec.split is not None:
        raise InputError("--split does not apply to a challenge root (its parts: --part public_test, private_test, "
                         "test or train)")
    if spec.databases and spec.databases != (CHALLENGE_NAME,):
        raise InputError(f"--db does not apply to a challenge root (got {', '.join(spec.databases)})")
    part = spec.part or CHALLENGE_DEFAULT_PART
    candidates = challenge_candidates(root, part, annotations=False, check=False)
    missing = [problems[0] for _, problems in candidates if problems]
    if missing:
        raise InputError(summarise_videos(missing))
    if not candidates:
        raise InputError(f"{root}: the {part} part of {CHALLENGE_SPLIT_FILE} names no videos")
    return [VideoInput.from_record(record, output_key(record.dataset, record.video)) for record, _ in candidates]


def keep_earlier_keys(videos: list[VideoInput], earlier: dict[str, str]) -> list[VideoInput]:
    """`videos` with each file that an earlier run predicted under another key given that key back.

    Keys depend on the files given together (``clip.mp4`` alone is ``clip``, beside ``clip.avi`` it is
    ``clip_mp4``); `earlier` ({file name: key}, `outputs.earlier_keys`) keeps a rerun with one more
    file from predicting a video again under a second name.
    """
    taken = {video.key for video in videos}
    kept = []
    for video in videos:
        key = earlier.get(video.frames.name, video.key)
        if key != video.key and key in taken:  # another input of this run has that name now
            key = video.key
        taken.add(key)
        kept.append(dataclasses.replace(video, key=key))
    return kept
