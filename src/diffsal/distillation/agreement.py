"""How closely a student gives its teacher's maps on held-out videos, and how fast it gives them."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from diffsal.metrics import cc, kld, sim


@dataclass
class Agreement:
    """Mean CC, KLD and SIM of the student's maps against the teacher's (each map of each held-out clip, at the
    student's size), and the student's frames/s: maps per second of its own forward passes (clip reading not
    counted) with the batch size and threads of this run."""

    videos: int
    maps: int
    cc: float
    kld: float
    sim: float
    frames_per_s: float
    batch_size: int
    threads: int

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> list[str]:
        return [
            "student vs teacher on held-out videos:",
            f"  {'videos':>6} {'maps':>6} {'CC':>7} {'KLD':>7} {'SIM':>7} {'frames/s':>9}",
            (f"  {self.videos:>6} {self.maps:>6} {self.cc:>7.4f} {self.kld:>7.4f} {self.sim:>7.4f} "
             f"{self.frames_per_s:>9.1f}"),
            (f"  (frames/s: the model's forward passes, batch {self.batch_size}, {self.threads} thread(s); "
             "`diffsal predict` adds reading and writing)"),
        ]


@torch.no_grad()
def measure_agreement(model, clips: Dataset, videos: int, batch_size: int, device: torch.device,
                      steps: int | None = None) -> Agreement:
    """Score `model` (sampled with `steps` DDIM steps, its config's by default, fixed seed) on every clip of
    `clips`, whose ``target`` are the teacher's maps."""
    model.eval()
    generator = torch.Generator(device).manual_seed(0)
    scores: dict[str, list[float]] = {"cc": [], "kld": [], "sim": []}
    model_s, maps, produced = 0.0, 0, 0
    for batch in DataLoader(clips, batch_size=batch_size, num_workers=0):
        frames = batch["frames"].to(device)
        audio = batch["audio"].to(device) if model.config.use_audio else None
        started = time.perf_counter()
        predicted = model.sample(frames, audio, steps=steps, generator=generator).mean.float().cpu().numpy()
        model_s += time.perf_counter() - started
        produced += predicted.shape[0] * predicted.shape[1]
        target = batch["target"].numpy()
        for clip in range(predicted.shape[0]):
            for slot in range(predicted.shape[1]):
                teacher, student = target[clip, slot], predicted[clip, slot]
                if not teacher.any():
                    continue
                for name, metric in (("cc", cc), ("kld", kld), ("sim", sim)):
                    value = metric(student, teacher)
                    if math.isfinite(value):
                        scores[name].append(value)
                maps += 1
    mean = {name: float(np.mean(values)) if values else float("nan") for name, values in scores.items()}
    frames_per_s = produced / model_s if model_s > 0 else float("nan")
    return Agreement(videos, maps, mean["cc"], mean["kld"], mean["sim"], frames_per_s, batch_size,
                     torch.get_num_threads())
