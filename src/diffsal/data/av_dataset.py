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
from diffsal.data.fold_lists import AV_DATABASES
from diffsal.data.index import AudioPolicy, stavis_index
from diffsal.data.sampling import Sampling
from diffsal.errors import InputError

DatasetPart = Literal["train", "val", "test"]
__all__ = ["AudioPolicy", "AVSaliencyDataset", "DatasetPart"]


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
        annotations: bool = True,
        audio: AudioPolicy = "required",
        skip_bad: bool = False,
        **options,
    ) -> None:
        if part not in ("train", "val", "test"):
            raise InputError(f"part must be 'train', 'val' or 'test', got {part!r}")
        if audio not in ("required", "optional", "none"):
            raise InputError(f"audio must be 'required', 'optional' or 'none', got {audio!r}")
        self.root = Path(root)
        self.databases = [databases] if isinstance(databases, str) else list(databases)
        self.split = split
        self.part = part
        index = stavis_index(self.root, self.databases, split, part, annotations=annotations, audio=audio,
                             validation_fraction=validation_fraction, validation_seed=validation_seed,
                             strict=not skip_bad)
        records, skipped = index.usable(
            skip_bad, f"{self.root}: no usable videos for {', '.join(self.databases)} split {split} part {part}")
        report_skipped(f"AVSaliencyDataset({self.root}, {part} {split})", skipped)
        super().__init__(records, sampling=sampling or ("sparse" if part == "train" else "dense"),
                         annotations=annotations, skipped=skipped, **options)
