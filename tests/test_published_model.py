"""Properties of the published DiffSal model (tiny sizes; the full size is compared with the published code by
`scripts/check_published.py`)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from diffsal.diffusion import DDIMSampler, GaussianDiffusion
from diffsal.errors import ConfigError, InputError
from diffsal.models.diffsal import DiffSal
from diffsal.models.loading import load_model, read_model_config
from diffsal.models.published.config import PublishedConfig
from diffsal.models.published.model import PublishedDiffSal


def _inputs(model: PublishedDiffSal, batch: int = 2, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    config = model.config
    frames = torch.randn(batch, 3, config.num_frames, config.height, config.width, generator=generator)
    audio = None
    if config.use_audio:
        audio = torch.randn(batch, 1, config.audio.num_examples, *config.audio.example_size, generator=generator)
    return frames, audio


def _randomise(model: torch.nn.Module, seed: int = 1) -> None:
    """Weights far from the published initialisation (whose decoder outputs ~0.5 everywhere)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            fan_in = parameter[0].numel() if parameter.dim() > 1 else 1
            scale = (1.0 / fan_in) ** 0.5 if parameter.dim() > 1 else 0.05
            base = 1.0 if name.endswith("weight") and parameter.dim() == 1 else 0.0
            parameter.copy_(base + scale * torch.randn(parameter.shape, generator=generator))


@pytest.fixture(scope="module")
def tiny_av():
    torch.manual_seed(0)
    model = PublishedDiffSal.from_preset("tiny-av")
    _randomise(model)
    return model.eval()


@pytest.fixture(scope="module")
def tiny_visual():
    torch.manual_seed(0)
    model = PublishedDiffSal.from_preset("tiny-visual")
    _randomise(model)
    return model.eval()


def test_leading_timesteps_are_those_of_the_published_sampler():
    sampler = DDIMSampler(GaussianDiffusion.cosine(1000), "leading")
    assert sampler.timesteps(1) == [0]
    assert sampler.timesteps(4) == [750, 500, 250, 0]
    assert sampler.timesteps(10) == list(range(900, -1, -100))
    trailing = DDIMSampler(GaussianDiffusion.cosine(1000))
    assert trailing.timesteps(1) == [999] and trailing.timesteps(4) == [999, 749, 499, 249]
    assert PublishedConfig.preset("av").diffusion.sampling_steps == 1


def test_zero_padded_4x4_patchify_equals_the_published_3x3_stride_4_conv():
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(6, 5, 3, 3, generator=generator)
    bias = torch.randn(6, generator=generator)
    for height, width in ((224, 384), (64, 128), (28, 44)):  # multiples of 4, as every model size is
        x = torch.randn(2, 5, height, width, generator=generator)
        published = F.conv2d(F.pad(x, (0, 1, 0, 1)), weight, bias, stride=4)
        ours = F.conv2d(x, F.pad(weight, (0, 1, 0, 1)), bias, stride=4)
        assert ours.shape == published.shape
        torch.testing.assert_close(ours, published, rtol=1e-5, atol=1e-5)


@torch.no_grad()
def test_visual_model_output_is_exactly_independent_of_the_noisy_map_and_t(tiny_visual):
    model = tiny_visual
    frames, _ = _inputs(model)
    conditioning = model.encode(frames)
    generator = torch.Generator().manual_seed(3)
    outputs = []
    for t in (0, 250, 999):
        noisy = torch.randn(2, 1, model.config.height, model.config.width, generator=generator) * 10
        outputs.append(model.denoise(noisy, torch.full((2,), t), conditioning))
    assert all(torch.equal(outputs[0], other) for other in outputs[1:])
    assert outputs[0].std() > 0.01  # not a constant map
    one, four = (model.sample(frames, steps=steps).mean for steps in (1, 4))
    assert torch.equal(one, four)


@torch.no_grad()
def test_audio_visual_model_depends_on_noise_t_and_audio(tiny_av):
    model = tiny_av
    frames, audio = _inputs(model)
    conditioning = model.encode(frames, audio)
    noisy = torch.randn(2, 1, model.config.height, model.config.width)
    base = model.denoise(noisy, torch.full((2,), 500), conditioning)
    assert not torch.allclose(base, model.denoise(noisy, torch.full((2,), 10), conditioning))
    assert not torch.allclose(base, model.denoise(noisy * 0.5, torch.full((2,), 500), conditioning))
    other_audio = model.encode(frames, torch.randn_like(audio))
    assert not torch.allclose(base, model.denoise(noisy, torch.full((2,), 500), other_audio))
    assert base.shape == (2, 1, model.config.height, model.config.width)
    assert 0.0 <= float(base.min()) and float(base.max()) <= 1.0


def test_sample_is_deterministic_given_the_noise_and_in_unit_range(tiny_av):
    frames, audio = _inputs(tiny_av)
    noise = torch.randn(2, 1, tiny_av.config.height, tiny_av.config.width)
    first = tiny_av.sample(frames, audio, steps=4, noise=noise).mean
    second = tiny_av.sample(frames, audio, steps=4, noise=noise).mean
    assert torch.equal(first, second)
    one_step = tiny_av.sample(frames, audio, steps=1, noise=noise).mean
    # one leading step is one network call at t = 0 from the noise
    conditioning = tiny_av.encode(frames, audio)
    torch.testing.assert_close(one_step, tiny_av.denoise(noise, torch.zeros(2, dtype=torch.long), conditioning))


def test_the_audio_trunk_is_frozen_and_the_rest_trains(tiny_av):
    frozen = {name for name, p in tiny_av.named_parameters() if not p.requires_grad}
    assert frozen and all(name.startswith("audio_encoder.trunk.") for name in frozen)


def test_training_loss_has_gradients(tiny_av):
    model = PublishedDiffSal(tiny_av.config)
    model.load_state_dict(tiny_av.state_dict())
    model.train()
    frames, audio = _inputs(model)
    target = torch.rand(2, 1, model.config.height, model.config.width)
    loss = model.training_loss(frames, audio, target, generator=torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss)
    assert model.saliency_unet.head.weight.grad.abs().sum() > 0
    assert model.video_encoder.conv_proj.weight.grad.abs().sum() > 0


def test_bad_inputs_name_the_expected_shape(tiny_av, tiny_visual):
    frames, audio = _inputs(tiny_av)
    with pytest.raises(InputError, match="log-mel examples"):
        tiny_av.encode(frames, audio[:, :, :4])
    with pytest.raises(InputError, match="needs its audio"):
        tiny_av.encode(frames, None)
    with pytest.raises(InputError, match="visual-only"):
        tiny_visual.encode(frames, audio)
    with pytest.raises(InputError, match="frames must be"):
        tiny_av.encode(frames[:, :, :8], audio)


def test_save_and_load_any_architecture(tmp_path, tiny_av):
    tiny_av.save_pretrained(tmp_path / "model")
    document = json.loads((tmp_path / "model" / "config.json").read_text())
    assert document["architecture"] == "published-av"
    loaded = load_model(tmp_path / "model")
    assert isinstance(loaded, PublishedDiffSal)
    for key, tensor in tiny_av.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key
    config, _ = read_model_config(tmp_path / "model")
    assert config == tiny_av.config
    with pytest.raises(ConfigError, match="not the improved DiffSal"):
        DiffSal.from_pretrained(tmp_path / "model")
    diffsal = DiffSal.from_preset("tiny")
    diffsal.save_pretrained(tmp_path / "improved")
    assert json.loads((tmp_path / "improved" / "config.json").read_text())["architecture"] == "diffsal"
    assert isinstance(load_model(tmp_path / "improved"), DiffSal)


def test_unknown_architecture_and_bad_configs(tmp_path, tiny_visual):
    tiny_visual.save_pretrained(tmp_path / "model")
    path = tmp_path / "model" / "config.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "architecture": "published-xl"}))
    with pytest.raises(ConfigError, match="unknown model architecture 'published-xl'"):
        load_model(tmp_path / "model")
    with pytest.raises(ConfigError, match="unknown published preset"):
        PublishedConfig.preset("large")
    with pytest.raises(ConfigError, match="stage_norms"):
        PublishedConfig.from_dict({**PublishedConfig.preset("tiny-av").to_dict(), "video": {
            **PublishedConfig.preset("tiny-av").to_dict()["video"], "stage_norms": False}})
    with pytest.raises(ConfigError, match="example_size"):
        PublishedConfig.from_dict({**PublishedConfig.preset("tiny-av").to_dict(), "audio": {
            **PublishedConfig.preset("tiny-av").to_dict()["audio"], "example_size": [48, 64]}})


def test_released_presets_have_the_released_parameter_counts():
    counts = {}
    for name in ("av", "visual"):
        model = PublishedDiffSal.from_preset(name)
        counts[name] = sum(p.numel() for p in model.parameters())
    # used at inference: 76.45 M (AV) and 52.08 M (visual); our q kernels hold 1 of 3 temporal slices, the
    # patchify kernel a zero row and column more
    assert counts["av"] == pytest.approx(76.45e6, rel=0.01)
    assert counts["visual"] == pytest.approx(52.08e6, rel=0.01)
