"""``sampling``: DDIM steps x diffusion samples per frame for the audio-visual model: quality and time."""

from __future__ import annotations

from pathlib import Path

from diffsal.experiments.common import AUDIO_VISUAL, Column, Row, Study, seeds_caption


def run(study: Study) -> Path:
    settings = study.settings
    models = study.train_all((AUDIO_VISUAL,))
    rows = []
    for samples in settings.samples:
        for steps in settings.steps:
            row = Row(f"{steps} DDIM step{'s' if steps > 1 else ''}, {samples} sample{'s' if samples > 1 else ''}",
                      study.train_command(AUDIO_VISUAL))
            for seed in settings.seeds:
                name = f"{AUDIO_VISUAL.key}-seed{seed}-steps{steps}-samples{samples}"
                row.per_seed[seed] = study.predict_and_score(models[(AUDIO_VISUAL.key, seed)], name, steps=steps,
                                                             samples=samples)
            rows.append(row)
    caption = (seeds_caption(settings) + f"; s/frame: the whole `diffsal predict` per frame, {settings.threads} "
               "thread(s)).")
    return study.write(rows, caption, columns=(Column("s/frame", "s_per_frame", 4),))
