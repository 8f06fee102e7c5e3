"""The unlabelled videos of a distillation: files, folders of files, dataset trees, as records of frames and sound.

A dataset tree (STAViS, DHF1K) is indexed without annotations: its fixation and map files are never opened.
Every video is opened once here (frame count, frame rate, whether it has sound), so a bad one stops the run before
any long work.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from diffsal.data.index import index_dataset, is_dhf1k_root
from diffsal.data.layout import VIDEO_SUFFIXES, is_challenge_root, video_files, video_names
from diffsal.data.video_record import VideoRecord
from diffsal.distillation.recipe import VideosSection
from diffsal.errors import InputError
from diffsal.inference.sources import is_stavis_root
from diffsal.io.paths import check_input_path
from diffsal.io.probe import probe

FILES_DATASET = "videos"  # the `dataset` of a record made from a video file


def record_key(record: VideoRecord) -> str:
    """A video's name in the teacher cache and in reports: ``<dataset>/<video>``."""
    return f"{record.dataset}/{record.video}"


def distillation_videos(section: VideosSection, needs_sound: bool) -> list[VideoRecord]:
    """The records of every video `section` names, in a fixed order.

    `needs_sound`: the student is audio-visual, so a video without sound is refused unless
    ``section.without_sound`` is "silence" (it is then fed silence, as `predict` does).

    Raises:
        InputError: a missing path, a file that is not a video or cannot be read, a folder without videos,
            a dataset part without videos, two videos of the same name, a silent video (see above).
    """
    records: list[VideoRecord] = []
    for entry in section.paths:
        path = check_input_path(entry, "video")
        if path.is_dir() and (is_stavis_root(path) or is_dhf1k_root(path) or is_challenge_root(path)):
            records += _dataset_records(path, section)
        elif path.is_dir():
            files = video_files(path)
            if not files:
                raise InputError(f"{path}: no video files ({', '.join(VIDEO_SUFFIXES)}) and not a dataset root")
            records += [_file_record(file, name) for file, name in zip(files, video_names(files))]
        elif path.suffix.lower() in VIDEO_SUFFIXES:
            records.append(_file_record(path, video_names([path])[0]))
        else:
            raise InputError(f"{path}: not a video file (expected one of {', '.join(VIDEO_SUFFIXES)}), "
                             "a folder of videos or a dataset root")
    _check_unique(records)
    if needs_sound and section.without_sound == "refuse":
        silent = [record.frames for record in records if record.audio is None]
        if silent:
            more = f" (and {len(silent) - 1} more)" if len(silent) > 1 else ""
            raise InputError(f"{silent[0]}: no sound track{more}; the student is audio-visual. Give videos with "
                             "sound, or --no-audio (videos.without_sound=silence) to feed it silence for these")
    return records


def _file_record(path: Path, name: str) -> VideoRecord:
    info = probe(path)  # MediaError (exit 2) for a file that is not a readable video
    if info.num_frames < 1:
        raise InputError(f"{path}: no video frames")
    return VideoRecord(dataset=FILES_DATASET, video=name, fps=info.fps, num_frames=info.num_frames,
                       frames=str(path), frame_pattern=None, audio=str(path) if info.audio is not None else None)


def _dataset_records(root: Path, section: VideosSection) -> list[VideoRecord]:
    databases: Sequence[str] | None = section.databases
    split: int | str = section.split if section.split == "all" else int(section.split)
    index = index_dataset(root, databases, split, section.part, annotations=False, audio="optional",
                          validation_fraction=0.0)
    records, _ = index.usable(skip_bad=False, no_usable=f"{root}: no usable videos in part {section.part!r}")
    return records


def _check_unique(records: list[VideoRecord]) -> None:
    seen: dict[str, str] = {}
    for record in records:
        key = record_key(record).lower()
        if key in seen:
            raise InputError(f"two videos named {record_key(record)}: {seen[key]} and {record.frames}; "
                             "give them different names")
        seen[key] = record.frames
