"""``fusion``: the multi-modal interaction module (MIM) vs plain concatenation of the audio features."""

from __future__ import annotations

from pathlib import Path

from diffsal.experiments.common import AUDIO_VISUAL, Study, Variant, seeds_caption
from diffsal.experiments.modality import variant_rows

CONCAT = Variant("concat", "DiffSal tiny, audio-visual, plain concatenation (MIM off)",
                 ("model.overrides.unet.audio_fusion=concat",))
VARIANTS = (AUDIO_VISUAL, CONCAT)


def run(study: Study) -> Path:
    models = study.train_all(VARIANTS)
    return study.write(variant_rows(study, VARIANTS, models), seeds_caption(study.settings) + ").")
