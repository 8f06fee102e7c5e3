"""`ChallengeDataset`: the videos of a challenge root (AIM 2024, NTIRE 2026) as clips.

Parts: "train" (the split file's train list less the held-out validation videos), "val" (those: a seeded
`validation_fraction` of the train list), "public_test", "private_test". Targets: the continuous map decoded
from the 10-bit map video and the fixations of ``fixations.json`` (`diffsal.data.ground_truth`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from diffsal.data.clip_dataset import ClipDataset, report_skipped
from diffsal.data.index import AudioPolicy, Index
from diffsal.data.challenge import challenge_candidates
from diffsal.data.sampling import Sampling


class ChallengeDataset(ClipDataset):
    """Clips of one part of the challenge root `root` (item format: `diffsal.data.clip_dataset`).

    Args:
        part: "train", "val", "public_test" or "private_test" (the test parts' annotations are not public:
            those need ``annotations=False``).
        validation_fraction / validation_seed: the held-out share of the train list.
        audio: "required" (a video without a sound track is a problem), "optional" (it is fed silence,
            ``has_audio=False``) or "none" (never load sound: a video-only run).
        skip_bad: leave out videos with problems (listed in `skipped`) instead of raising.
        Other keyword arguments (stride, preprocessing, sampling, ...): see `ClipDataset`.

    Raises:
        DatasetError: a bad split file, no videos, or videos with problems (without `skip_bad`; the message names
            the first few and how many there are).
    """

    def __init__(self, root: str | Path, part: str = "train", *, validation_fraction: float = 0.1,
                 validation_seed: int = 0, sampling: Sampling | None = None, annotations: bool = True,
                 audio: AudioPolicy = "required", skip_bad: bool = False, **options) -> None:
        self.root = Path(root)
        self.part = part
        candidates = []
        for record, problems in challenge_candidates(self.root, part, annotations=annotations,
                                                     validation_fraction=validation_fraction,
                                                     validation_seed=validation_seed):
            if audio == "none":
                record = replace(record, audio=None)
            elif audio == "required" and record.audio is None and not problems:
                problems = [f"{record.frames}: no sound track (data.audio: optional feeds such videos silence)"]
            candidates.append((record, problems))
        index = Index(candidates, [])
        records, skipped = index.usable(skip_bad, f"{self.root}: no usable videos in the {part} part")
        report_skipped(f"ChallengeDataset({self.root}, {part})", skipped)
        super().__init__(records, sampling=sampling or ("sparse" if part == "train" else "dense"),
                         annotations=annotations, skipped=skipped, **options)
