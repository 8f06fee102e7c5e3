"""A converted published model fine-tunes with `diffsal train`, saves, reloads and predicts (tiny size)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from diffsal.cli import main
from diffsal.training.config import load_train_config
from diffsal.training.trainer import train
from diffsal.errors import ConfigError
from diffsal.io.probe import probe
from diffsal.models.loading import load_model
from diffsal.models.published.model import PublishedDiffSal
from diffsal.synth.benchmark import SynthConfig, generate_benchmark


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    generate_benchmark(root, SynthConfig(num_videos=4, seed=5, width=160, height=96, seconds=1.5, num_observers=4))
    return root


@pytest.fixture(scope="module")
def published_folder(tmp_path_factory):
    torch.manual_seed(0)
    model = PublishedDiffSal.from_preset("tiny-av")
    return model.save_pretrained(tmp_path_factory.mktemp("published") / "model")


def _overrides(root, out_dir, init_from, **extra):
    values = {
        "out_dir": str(out_dir), "model.init_from": str(init_from), "data.root": str(root),
        "data.train_stride": 6, "data.validation_fraction": 0.25, "data.validation_stride": 12,
        "data.num_workers": 0, "optim.lr": 1e-3, "optim.schedule": "constant", "train.batch_size": 2,
        "train.log_every": 1, "train.eval_every": 3, "train.checkpoint_every": 3, "train.max_steps": 3,
        "train.seed": 1, "train.sampling_steps": 1,
    }
    values.update(extra)
    return [f"{key}={value}" for key, value in values.items()]


def test_fine_tune_save_reload_predict(synthetic_root, published_folder, tmp_path, capsys):
    initial = load_file(published_folder / "model.safetensors")
    result = train(load_train_config(None, _overrides(synthetic_root, tmp_path / "run", published_folder)),
                   device="cpu")
    assert result.steps == 3 and result.last_checkpoint is not None
    document = json.loads((result.last_checkpoint / "config.json").read_text())
    assert document["architecture"] == "published-av"
    tuned = load_file(result.last_checkpoint / "model.safetensors")
    assert tuned.keys() == initial.keys()
    changed = [key for key in initial if not torch.equal(initial[key], tuned[key])]
    assert any(key.startswith("saliency_unet.") for key in changed)
    assert any(key.startswith("video_encoder.") for key in changed)
    # the VGGish trunk is frozen, as in the published code
    assert not any(key.startswith("audio_encoder.trunk.") for key in changed)

    model = load_model(result.last_checkpoint)
    assert isinstance(model, PublishedDiffSal)
    video = next((synthetic_root / "video").rglob("*.mp4"), None) or next(synthetic_root.rglob("*.mp4"))
    out = tmp_path / "predictions"
    assert main(["predict", str(video), "--model", str(result.last_checkpoint), "--out", str(out),
                 "--device", "cpu"]) == 0
    maps = sorted(out.rglob("*.png"))
    assert len(maps) == probe(video).num_frames  # every frame gets a map
    from PIL import Image

    first = np.asarray(Image.open(maps[0]))
    assert first.ndim == 2 and first.max() > first.min()


def test_published_init_from_refuses_encoder_weight_files(synthetic_root, published_folder, tmp_path):
    config = load_train_config(None, _overrides(synthetic_root, tmp_path / "run", published_folder,
                                                **{"model.video_weights": str(tmp_path / "k400.pth")}))
    with pytest.raises(ConfigError, match="published model"):
        train(config, device="cpu")


def test_the_published_fine_tuning_recipe_loads():
    from pathlib import Path

    recipe = Path(__file__).resolve().parents[1] / "configs" / "published_finetune.yaml"
    config = load_train_config(recipe, [])
    assert config.model.init_from and config.model.audio_weights is None and config.model.video_weights is None
    assert config.data.databases and config.data.format == "stavis"


def test_init_from_a_model_saved_with_clip_size_tables_keeps_them(tmp_path):
    """A paper-size model saved before the paper preset built its tables for 224x224 still initialises a run."""
    import dataclasses

    from diffsal.training.config import ModelSection
    from diffsal.training.recipe_model import model_from_recipe
    from diffsal.models import DiffSal, DiffSalConfig

    paper = DiffSalConfig.preset("paper")
    old = dataclasses.replace(paper, use_audio=False, video=dataclasses.replace(paper.video, rel_pos_size=None))
    torch.manual_seed(0)
    DiffSal(old).save_pretrained(tmp_path / "stage1")
    model, notes = model_from_recipe(ModelSection(preset="paper", init_from=str(tmp_path / "stage1")))
    assert model.config.video.rel_pos_size is None and model.config.use_audio
    assert model.video_encoder.blocks[0].attn.rel_pos_h.shape[0] == 191
    assert any("initialised from" in note for note in notes)
    # a resumed run keeps the tables of the checkpoint it continues
    resumed, _ = model_from_recipe(ModelSection(preset="paper", overrides={"use_audio": False}), resumed=tmp_path / "stage1")
    assert resumed.video_encoder.blocks[0].attn.rel_pos_h.shape[0] == 191
    fresh, _ = model_from_recipe(ModelSection(preset="paper", overrides={"use_audio": False}))
    assert fresh.video_encoder.blocks[0].attn.rel_pos_h.shape[0] == 111
