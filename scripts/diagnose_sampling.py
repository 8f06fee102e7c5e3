"""Diagnose a trained model on a dataset split: CC for 1/2/4/8 DDIM steps, with shuffled and silent audio,
and the x0 prediction from the noised ground truth at several t (how much the noisy map drives the output).

    python scripts/diagnose_sampling.py MODEL_DIR DATA_ROOT [--db Synthetic] [--split 1] [--clips 64]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from diffsal.data import AVSaliencyDataset
from diffsal.metrics import cc
from diffsal.models import DiffSal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--db", default="Synthetic")
    parser.add_argument("--split", type=int, default=1)
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = DiffSal.from_pretrained(args.model).eval()
    config = model.config
    dataset = AVSaliencyDataset(args.data, args.db, split=args.split, part="test", sampling="sparse", stride=25,
                                clip_length=config.num_frames, frames_out=config.frames_out,
                                preprocessing=config.preprocessing())
    items = [dataset[index] for index in range(min(args.clips, len(dataset)))]
    frames = torch.stack([item["frames"] for item in items])
    audio = torch.stack([item["audio"] for item in items]) if config.use_audio else None
    target = torch.stack([item["target"] for item in items])

    def mean_cc(prediction: torch.Tensor) -> float:
        return float(np.mean([cc(prediction[i, k].numpy(), target[i, k].numpy())
                              for i in range(len(items)) for k in range(config.frames_out)]))

    def sampled(steps: int, clip_audio: torch.Tensor | None) -> float:
        generator = torch.Generator().manual_seed(args.seed)
        return mean_cc(model.sample(frames, clip_audio, steps=steps, generator=generator).mean)

    print(f"{len(items)} test clips of {args.db} split {args.split}")
    for steps in (1, 2, 4, 8):
        print(f"DDIM steps {steps}: CC {sampled(steps, audio):.3f}")
    if audio is not None:
        shuffled = audio[torch.randperm(len(items), generator=torch.Generator().manual_seed(args.seed))]
        print(f"4 steps, audio of other clips: CC {sampled(4, shuffled):.3f}")
        print(f"4 steps, silent audio: CC {sampled(4, torch.zeros_like(audio)):.3f}")
    with torch.no_grad():
        conditioning = model.encode(frames, audio)
        x0 = model.scaling.encode(target)
        generator = torch.Generator().manual_seed(args.seed)
        for t in (50, 250, 500, 750, 999):
            timesteps = torch.full((len(items),), t, dtype=torch.long)
            noisy = model.diffusion.q_sample(x0, timesteps, torch.randn(x0.shape, generator=generator))
            predicted = model.scaling.decode(model.denoise(noisy, timesteps, conditioning))
            print(f"x0 from the ground truth noised at t={t}: CC {mean_cc(predicted):.3f}")


if __name__ == "__main__":
    main()
