"""`AVSaliencyDataset`: the STAViS audio-visual benchmarks (and the synthetic one) as clips.

Any subset of the databases of a root in the STAViS layout (AVAD, Coutrot_db1, Coutrot_db2,
DIEM, ETMD_av, SumMe, Synthetic, or a folder made by `diffsal prepare`), one split, one part:

- "train": the split's training list minus the held-out validation videos;
- "val": a seeded subset (`validation_fraction`) of the split's *training* list, per database;
- "test": the split's test list (never used for validation).

Frame rates and frame counts come from the fold lists. The layout is checked when the dataset
is built: a missing frames folder, wav, map folder, a frame-count mismatch or a bad fold-list
line raises `DatasetError`/`InputError` naming the path, or with ``skip_bad=True`` leaves the
video out and lists it in `skipped` (and warns).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from diffsal.data.clip_dataset import ClipDataset, report_skipped
from diffsal.data.fold_lists import AV_DATABASES, FoldEntry, read_fold_list, read_fold_list_reporting
from diffsal.data.layout import EYE_MAP_PATTERN, FIX_MAP_PATTERN, StavisLayout
from diffsal.data.records import VideoRecord, folder_problems, summarise, summarise_videos
from diffsal.data.sampling import DEFAULT_TRAIN_STRIDE, Sampling, validation_videos
from diffsal.errors import DatasetError, InputError
from diffsal.io.clip import ResizeMode
from diffsal.models.preprocessing import Preprocessing
from diffsal.io.frame_folder import STAVIS_FRAME_PATTERN
from diffsal.io.paths import absence

DatasetPart = Literal["train", "val", "test"]
AudioPolicy = Literal["required", "optional", "none"]


class AVSaliencyDataset(ClipDataset):
    """Clips of the STAViS-layout databases under `root` (item format: `diffsal.data.clip_dataset`).

    Args:
        root: folder holding ``video_frames/``, ``video_audio/``, ``annotations/``, ``fold_lists/``.
        databases: one name or several; default: the six audio-visual benchmarks.
        split: 1, 2 or 3 (DIEM has one split and ignores it).
        part: "train", "val" or "test".
        validation_fraction / validation_seed: the held-out share of each training list.
        sampling: "sparse" or "dense"; default sparse for "train", dense otherwise.
        stride, random_offset, seed, clip_length, frames_out, preprocessing, resize_mode,
            audio_offset_s, cached_videos, audio_cache_mb: see `ClipDataset`.
        annotations: load target maps (False for data without ground truth, e.g. `diffsal prepare`).
        audio: "required" (a missing wav is an error), "optional" (missing wav -> silence,
            ``has_audio=False``), "none" (never load sound: a video-only run).
        skip_bad: leave out videos with problems instead of raising; they are listed in `skipped`.
    """

    def __init__(
        self,
        root: str | Path,
        databases: str | Sequence[str] = AV_DATABASES,
        split: int = 1,
        part: DatasetPart = "train",
        *,
        validation_fraction: float = 0.1,
        validation_seed: int = 0,
        sampling: Sampling | None = None,
        stride: int = DEFAULT_TRAIN_STRIDE,
        random_offset: bool = False,
        seed: int = 0,
        clip_length: int = 16,
        frames_out: int = 1,
        preprocessing: Preprocessing | None = None,
        resize_mode: ResizeMode = "stretch",
        audio_offset_s: float = 0.0,
        annotations: bool = True,
        audio: AudioPolicy = "required",
        skip_bad: bool = False,
        cached_videos: int = 4,
        audio_cache_mb: float = 64.0,
    ) -> None:
        if part not in ("train", "val", "test"):
            raise InputError(f"part must be 'train', 'val' or 'test', got {part!r}")
        if audio not in ("required", "optional", "none"):
            raise InputError(f"audio must be 'required', 'optional' or 'none', got {audio!r}")
        self.root = Path(root)
        self.databases = [databases] if isinstance(databases, str) else list(databases)
        self.split = split
        self.part = part
        layout = StavisLayout(self.root)
        records: list[VideoRecord] = []
        skipped: list[str] = []
        for database in self.databases:
            for entry in self._entries(layout, database, split, part, validation_fraction, validation_seed, skip_bad, skipped):
                record, problems = _record(layout, database, entry, annotations, audio)
                if problems:
                    skipped.append(summarise(problems))
                else:
                    records.append(record)
        if skipped and not skip_bad:
            raise DatasetError(summarise_videos(skipped) + " (skip_bad / data.skip_bad leaves such videos out)")
        if not records:
            detail = f"; skipped: {'; '.join(skipped)}" if skipped else ""
            raise DatasetError(f"{self.root}: no usable videos for {', '.join(self.databases)} split {split} part {part}{detail}")
        report_skipped(f"AVSaliencyDataset({self.root}, {part} {split})", skipped)
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
            audio_offset_s=audio_offset_s,
            annotations=annotations,
            cached_videos=cached_videos,
            audio_cache_mb=audio_cache_mb,
            skipped=skipped,
        )

    @staticmethod
    def _entries(
        layout: StavisLayout,
        database: str,
        split: int,
        part: DatasetPart,
        validation_fraction: float,
        validation_seed: int,
        skip_bad: bool,
        skipped: list[str],
    ) -> list[FoldEntry]:
        path = layout.fold_list(database, "test" if part == "test" else "train", split)
        if skip_bad:
            try:
                fold_list, problems = read_fold_list_reporting(path)
            except InputError as error:
                skipped.append(str(error))
                return []
            skipped.extend(problems)
        else:
            fold_list = read_fold_list(path)
        if part == "test":
            return fold_list.entries
        held_out = set(validation_videos(fold_list.videos, validation_fraction, validation_seed))
        return [entry for entry in fold_list.entries if (entry.video in held_out) == (part == "val")]


def _record(layout: StavisLayout, database: str, entry: FoldEntry, annotations: bool, audio: AudioPolicy) -> tuple[VideoRecord, list[str]]:
    """The record of a fold-list entry and the problems that make it unusable (empty if none)."""
    frames_dir = layout.frames_dir(database, entry.video)
    problems = folder_problems(frames_dir, STAVIS_FRAME_PATTERN, "frames", entry.num_frames)
    wav = layout.wav_path(database, entry.video)
    audio_path: str | None = None
    if audio != "none":
        if wav.is_file() and wav.stat().st_size > 0:
            audio_path = str(wav)
        elif audio == "required":
            problems.append(f"{wav}: wav {absence(wav)}" if not wav.exists() else f"{wav}: wav is empty or not a file")
    if annotations:
        maps_dir = layout.maps_dir(database, entry.video)
        problems += folder_problems(maps_dir, EYE_MAP_PATTERN, "eyeMaps", entry.num_frames)
        problems += folder_problems(layout.annotation_dir(database, entry.video), FIX_MAP_PATTERN, "fixMaps", entry.num_frames)
    record = VideoRecord(
        dataset=database,
        video=entry.video,
        fps=entry.fps,
        num_frames=entry.num_frames,
        frames=str(frames_dir),
        frame_pattern=STAVIS_FRAME_PATTERN,
        audio=audio_path,
        maps=str(layout.maps_dir(database, entry.video)) if annotations else None,
        map_pattern=EYE_MAP_PATTERN,
        fixations=str(layout.annotation_dir(database, entry.video)) if annotations else None,
        fixation_pattern=FIX_MAP_PATTERN,
    )
    return record, problems
