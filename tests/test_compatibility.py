"""Model folders and recipes written by an earlier diffsal still load and compute the same."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from diffsal.training.config import load_train_config
from diffsal.models import DiffSal
from diffsal.models.loading import load_model
from diffsal.typed_config import to_dict

SAVED = Path(__file__).parent / "data" / "saved_before"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_an_old_model_folder_loads_and_gives_the_same_map():
    folder = SAVED / "micro_model"
    model = load_model(folder)
    assert isinstance(model, DiffSal)
    config = model.config
    generator = torch.Generator().manual_seed(1)
    frames = torch.randn(1, 3, config.num_frames, config.height, config.width, generator=generator)
    audio = torch.randn(1, config.audio.num_samples, generator=generator)
    noise = torch.randn(1, 1, config.height, config.width, generator=generator)
    expected = load_file(folder / "expected_sample.safetensors")["mean"]
    torch.testing.assert_close(model.sample(frames, audio, steps=2, noise=noise).mean, expected, rtol=0, atol=1e-6)
    assert model.config.video.rel_pos_size is None  # its tables keep the size they were saved with


def test_an_old_recipe_resolves_to_what_the_shipped_one_does():
    old = to_dict(load_train_config(SAVED / "av_finetune.yaml", []))
    new = to_dict(load_train_config(CONFIGS / "av_finetune.yaml", []))
    assert old == new
