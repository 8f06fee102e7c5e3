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

from pathlib import Path
from typing import Literal

from diffsal.data.clip_dataset import ClipDataset, report_skipped
from diffsal.data.index import (DHF1KVideo, dhf1k_index, dhf1k_record, find_dhf1k_videos, is_dhf1k_root,
                                part_numbers)
from diffsal.data.layout import (DHF1K_FPS, DHF1K_NAME, DHF1K_PARTS, DHF1K_PATTERN, FIXATIONS_DIR, IMAGES_DIR,
                                 MAPS_DIR)
from diffsal.data.sampling import Sampling
from diffsal.errors import DatasetError, InputError

__all__ = ["DHF1K_FPS", "DHF1K_NAME", "DHF1K_PARTS", "DHF1K_PATTERN", "FIXATIONS_DIR", "IMAGES_DIR", "MAPS_DIR",
           "DHF1KDataset", "DHF1KVideo", "dhf1k_record", "find_dhf1k_videos", "is_dhf1k_root", "part_numbers"]


class DHF1KDataset(ClipDataset):
    """Clips of DHF1K (item format: `diffsal.data.clip_dataset`; ``has_audio`` is always False).

    Args:
        root: the DHF1K folder (either layout).
        part: "train" (videos 1-600), "val" (601-700) or "test" (701-1000; use ``annotations=False``).
        sampling: default sparse for "train", dense otherwise.
        skip_bad: leave out videos with problems (listed in `skipped`) instead of raising.
        Other keyword arguments (stride, preprocessing, audio_offset_s, ...): see `ClipDataset`.

    Raises:
        DatasetError: no videos of the part, or videos with problems (without `skip_bad`; the
            message names the first few and how many there are).
    """

    def __init__(self, root: str | Path, part: Literal["train", "val", "test"] = "train", *,
                 sampling: Sampling | None = None, annotations: bool = True, skip_bad: bool = False,
                 **options) -> None:
        if part not in DHF1K_PARTS:
            raise InputError(f"DHF1K part must be 'train', 'val' or 'test', got {part!r}")
        self.root = Path(root)
        self.part = part
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: DHF1K folder not found")
        index = dhf1k_index(self.root, part, annotations=annotations)
        if not index.candidates:
            numbers = DHF1K_PARTS[part]
            raise DatasetError(f"{self.root}: no DHF1K videos of the {part} part (numbers {numbers[0]}-{numbers[-1]}) "
                               "in either layout (video/NNN.AVI or NNNN/images/)")
        records, skipped = index.usable(skip_bad, f"{self.root}: no usable DHF1K videos")
        report_skipped(f"DHF1KDataset({self.root}, {part})", skipped)
        super().__init__(records, sampling=sampling or ("sparse" if part == "train" else "dense"),
                         annotations=annotations, skipped=skipped, **options)
