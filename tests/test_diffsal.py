"""The DiffSal model: config, shapes, live diffusion, audio, sampling, save/load, learning."""

import json

import pytest
import torch

from diffsal.errors import ConfigError, InputError
from diffsal.models import DiffSal, DiffSalConfig, WeightsError
from diffsal.models.cost import model_flops

TINY = DiffSalConfig.preset("tiny")


def make_model(use_audio=True, seed=0, frames_out=1):
    torch.manual_seed(seed)
    config = DiffSalConfig.from_dict({**TINY.to_dict(), "use_audio": use_audio, "frames_out": frames_out})
    return DiffSal(config).eval()


def make_inputs(batch=2, seed=1, audio=True):
    g = torch.Generator().manual_seed(seed)
    frames = torch.randn(batch, 3, TINY.num_frames, TINY.height, TINY.width, generator=g)
    waveform = torch.randn(batch, TINY.audio.num_samples, generator=g) if audio else None
    return frames, waveform


# ---------------------------------------------------------------- config
def test_config_round_trips_through_json():
    for name in ("paper", "tiny"):
        config = DiffSalConfig.preset(name)
        assert DiffSalConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert TINY.audio_window_s == pytest.approx(1.52) and TINY.target_frame == 4
    assert DiffSalConfig.preset("paper").target_frame == 8  # the 9th of 16 frames
    assert TINY.frames_out == 1 and TINY.target_slots == [4]  # K = 1: the centre frame, as published
    paper_k8 = DiffSalConfig.from_dict({**DiffSalConfig.preset("paper").to_dict(), "frames_out": 8})
    assert paper_k8.target_slots == list(range(4, 12))  # the central 8 of 16
    assert DiffSalConfig.from_dict({**TINY.to_dict(), "frames_out": 8}).target_slots == list(range(8))


@pytest.mark.parametrize("change,message", [
    ({"video": {"colour": 1}}, "video.colour: unknown key"),
    ({"unet": {"kv_pool_size": [3]}}, "unet.kv_pool_size: expected 2 items"),
    ({"height": "224"}, "height: expected an integer"),
    ({"width": 30}, "width must be a multiple of 4"),
    ({"diffusion": {"map_range": "percent"}}, "diffusion.map_range: must be one of"),
    ({"video": {"channels": [96, 192, 384]}}, "video.channels must be 4 positive integers"),
    ({"use_audio": 1}, "use_audio: expected true/false"),
    ({"frames_out": 0}, r"frames_out must be in \[1, num_frames=8\], got 0"),
    ({"frames_out": 9}, r"frames_out must be in \[1, num_frames=8\], got 9"),
    ({"frames_out": 2.5}, "frames_out: expected an integer"),
])
def test_config_errors_name_the_key(change, message):
    data = TINY.to_dict()
    for key, value in change.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    with pytest.raises(ConfigError, match=message):
        DiffSalConfig.from_dict(data)
    with pytest.raises(ConfigError, match="unknown model preset"):
        DiffSalConfig.preset("huge")


# ---------------------------------------------------------------- shapes
def test_paper_preset_shapes_and_parameter_counts():
    with torch.device("meta"):
        model = DiffSal.from_preset("paper")
        frames = torch.zeros(1, 3, 16, 224, 384)
        conditioning = model.encode(frames, torch.zeros(1, 24_320))
        out = model(frames, torch.zeros(1, 24_320), torch.zeros(1, 16, 224, 384), torch.zeros(1, dtype=torch.long))
    assert [tuple(m.shape[1:]) for m in conditioning.video_maps] == \
        [(8, 56, 96, 96), (8, 28, 48, 192), (8, 14, 24, 384), (8, 7, 12, 768)]  # channels-last
    assert tuple(conditioning.audio.shape[1:]) == (512, 9, 7, 12)
    assert tuple(out.shape[1:]) == (16, 224, 384)  # K = 16: a map for every slot of the clip
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert 34.2e6 <= count(model.video_encoder) <= 34.5e6  # MViTv2-S without its classifier
    assert count(model.audio_encoder.trunk) == 4_499_712  # VGGish conv layers
    assert abs(count(model.saliency_unet) - 37.2e6) / 37.2e6 < 0.10
    assert abs(count(model) - 76e6) / 76e6 < 0.05


def test_tiny_preset_every_stage():
    model = make_model()
    frames, audio = make_inputs()
    conditioning = model.encode(frames, audio)
    assert [tuple(m.shape) for m in conditioning.video_maps] == [(2, t, h, w, c) for c, t, h, w in TINY.feature_sizes]
    # Views of the encoder's tokens (the class token sliced off): channels-last in memory, nothing copied.
    assert all(m.stride()[1:] == (h * w * c, w * c, c, 1) for m, (c, _, h, w) in zip(conditioning.video_maps,
                                                                                      TINY.feature_sizes))
    assert tuple(conditioning.audio.shape) == (2, 32, 9, 2, 4)
    noisy = torch.randn(2, 1, TINY.height, TINY.width)
    out = model(frames, audio, noisy, torch.tensor([0, 999]))
    out = out.detach()
    assert out.shape == (2, 1, TINY.height, TINY.width) and 0 <= float(out.min()) and float(out.max()) <= 1


@pytest.mark.slow
def test_paper_preset_runs_for_real():
    model = DiffSal.from_preset("paper").eval()
    frames = torch.randn(1, 3, 16, 224, 384)
    result = model.sample(frames, torch.randn(1, 24_320), steps=1, generator=torch.Generator().manual_seed(0))
    assert result.mean.shape == (1, 16, 224, 384) and torch.isfinite(result.mean).all()


# ---------------------------------------------------------------- diffusion is live, audio matters
@pytest.mark.parametrize("use_audio", [False, True])
def test_output_changes_with_noisy_map_and_t_in_eval_mode(use_audio):
    model = make_model(use_audio)
    frames, audio = make_inputs(audio=use_audio)
    noisy = torch.randn(2, 1, TINY.height, TINY.width, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([500, 500])
    with torch.no_grad():
        base = model(frames, audio, noisy, t)
        assert torch.equal(base, model(frames, audio, noisy, t))  # eval mode is deterministic
        assert (base - model(frames, audio, -noisy, t)).abs().max() > 1e-4
        assert (base - model(frames, audio, noisy, t - 400)).abs().max() > 1e-4
    first = model.sample(frames, audio, steps=1, generator=torch.Generator().manual_seed(0)).mean
    second = model.sample(frames, audio, steps=1, generator=torch.Generator().manual_seed(1)).mean
    assert (first - second).abs().max() > 1e-4


def test_audio_changes_the_audio_visual_output():
    model = make_model(use_audio=True)
    frames, _ = make_inputs()
    time_s = torch.arange(TINY.audio.num_samples) / TINY.sample_rate_hz
    low = torch.sin(2 * torch.pi * 440 * time_s).expand(2, -1)
    high = torch.sin(2 * torch.pi * 2500 * time_s).expand(2, -1)
    noisy = torch.randn(2, 1, TINY.height, TINY.width, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([999, 999])
    with torch.no_grad():
        base = model(frames, low, noisy, t)
        other = model(frames, high, noisy, t)
        silent = model(frames, None, noisy, t)
    # At initialisation the audio acts only through the attention keys, whose softmax is nearly uniform, and
    # behind a sigmoid that starts near 0.02: the change is small (~1e-6), but an output that ignored the audio
    # would be bit-identical.
    assert (base - other).abs().max() > 2e-7
    assert (base - silent).abs().max() > 2e-7


# ---------------------------------------------------------------- sampling
@pytest.mark.parametrize("frames_out,steps", [(1, 3), (8, 1), (8, 5)])
def test_sample_runs_encoders_once_and_returns_mean_and_std(frames_out, steps):
    model = make_model(frames_out=frames_out)
    frames, audio = make_inputs()
    calls = {"video": 0, "audio": 0, "unet": 0}
    model.video_encoder.register_forward_hook(lambda *a: calls.__setitem__("video", calls["video"] + 1))
    model.audio_encoder.register_forward_hook(lambda *a: calls.__setitem__("audio", calls["audio"] + 1))
    model.saliency_unet.register_forward_hook(lambda *a: calls.__setitem__("unet", calls["unet"] + 1))
    result = model.sample(frames, audio, steps=steps, n_samples=4, generator=torch.Generator().manual_seed(0))
    # Once per call, whatever the steps; the 4 samples of the 2 clips go through the Saliency-UNet as one batch.
    assert calls == {"video": 1, "audio": 1, "unet": steps}
    assert result.mean.shape == result.std.shape == (2, frames_out, TINY.height, TINY.width)
    assert 0 <= float(result.mean.min()) and float(result.mean.max()) <= 1 and float(result.std.min()) >= 0
    assert float(result.std.max()) > 0
    single = model.sample(frames, audio, steps=2, generator=torch.Generator().manual_seed(0))
    assert single.std is None
    again = model.sample(frames, audio, steps=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(single.mean, again.mean)


def test_sample_mean_is_the_mean_of_individual_samples():
    model = make_model()
    frames, audio = make_inputs(batch=1)
    result = model.sample(frames, audio, steps=2, n_samples=3, generator=torch.Generator().manual_seed(5))
    # Reproduce the three samples one by one from the same starting noise.
    noise = torch.randn(3, 1, TINY.height, TINY.width, generator=torch.Generator().manual_seed(5))
    conditioning = model.encode(frames, audio)
    singles = []
    with torch.no_grad():
        for x in noise:
            x = x[None]
            times = model.sampler.timesteps(2)
            for t, t_prev in zip(times, times[1:] + [-1]):
                x0 = model.denoise(x, torch.tensor([t]), conditioning)
                x = model.sampler.step(x, t, t_prev, x0)
            singles.append(model.scaling.decode(x))
    singles = torch.cat(singles)
    assert torch.allclose(result.mean[0], singles.mean(0), atol=1e-5)
    assert torch.allclose(result.std[0], singles.std(0), atol=1e-5)


@pytest.mark.parametrize("frames_out", [1, 8])
def test_bf16_maps_stay_close_to_fp32_maps(frames_out):
    model = make_model(frames_out=frames_out)
    frames, audio = make_inputs()
    noise = torch.randn(2, frames_out, TINY.height, TINY.width, generator=torch.Generator().manual_seed(3))
    full = model.sample(frames, audio, steps=2, noise=noise).mean
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = model.sample(frames, audio, steps=2, noise=noise).mean
    assert half.dtype == torch.float32
    # Random-weight maps are nearly flat, so on CPUs with native bf16 units the rounding decorrelates
    # them (CC ~0.85); the deviation itself must stay small (see test_inference's bf16 test).
    deviation = (full - half).abs()
    assert float(deviation.max()) < 0.06 and float(deviation.mean()) < 0.006, (deviation.max(), deviation.mean())


def test_bf16_autocast_runs():
    model = make_model()
    frames, audio = make_inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = model.sample(frames, audio, steps=2, generator=torch.Generator().manual_seed(0))
        loss = model.train().training_loss(frames, audio, torch.rand(2, 1, TINY.height, TINY.width))
    assert result.mean.dtype == torch.float32 and torch.isfinite(result.mean).all() and torch.isfinite(loss)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda():
    model = make_model().cuda()
    frames, audio = make_inputs()
    result = model.sample(frames.cuda(), audio.cuda(), steps=2, n_samples=2,
                          generator=torch.Generator("cuda").manual_seed(0))
    assert result.mean.is_cuda and result.std.is_cuda
    loss = model.train().training_loss(frames.cuda(), audio.cuda(), torch.rand(2, 1, TINY.height, TINY.width).cuda())
    loss.backward()


# ---------------------------------------------------------------- K maps per clip
@pytest.mark.parametrize("frames_out", [3, 8])
def test_k_maps_are_denoised_jointly_and_trained_together(frames_out):
    model = make_model(frames_out=frames_out)
    frames, audio = make_inputs()
    noisy = torch.randn(2, frames_out, TINY.height, TINY.width)
    t = torch.tensor([20, 700])
    with torch.no_grad():
        base = model(frames, audio, noisy, t)
        changed = noisy.clone()
        changed[:, 0] = torch.randn_like(changed[:, 0])
        other = model(frames, audio, changed, t)
    assert base.shape == (2, frames_out, TINY.height, TINY.width)
    # One diffusion over the K maps: the noise of map 0 moves every map, the last one included.
    assert (base - other)[:, -1].abs().max() > 1e-5
    target = torch.rand(2, frames_out, TINY.height, TINY.width)
    model.train()
    loss = model.training_loss(frames, audio, target, generator=torch.Generator().manual_seed(0))
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert float(model.saliency_unet.head.weight.grad[frames_out - 1].abs().sum()) > 0
    with pytest.raises(InputError, match=rf"target must be \(2, {frames_out}, 64, 112\)"):
        model.training_loss(frames, audio, torch.rand(2, 1, TINY.height, TINY.width))


def test_a_step_costs_about_the_same_for_any_k():
    """FLOPs per predicted frame fall ~K-fold: the noise stem is grouped per map, only the head grows."""
    for name in ("tiny", "paper"):
        config = DiffSalConfig.preset(name)
        one = model_flops(DiffSalConfig.from_dict({**config.to_dict(), "frames_out": 1}))
        eight = model_flops(DiffSalConfig.from_dict({**config.to_dict(), "frames_out": 8}))
        assert one.encoders == eight.encoders
        assert 0 <= eight.step - one.step < 0.01 * one.step
        assert one.per_frame(1) / eight.per_frame(1) > 7.9


def test_k1_is_the_published_single_map_model(tmp_path):
    """K = 1 keeps the parameters of the model before `frames_out` existed, and old config.json files load."""
    model = make_model()
    unet = model.saliency_unet
    assert tuple(unet.noise_encoder.stem.weight.shape) == (16, 1, 3, 3) and unet.noise_encoder.stem.groups == 1
    assert tuple(unet.head.weight.shape) == (1, 16, 1, 1)
    folder = model.save_pretrained(tmp_path / "model")
    document = json.loads((folder / "config.json").read_text())
    assert document["config"].pop("frames_out") == 1
    (folder / "config.json").write_text(json.dumps(document))
    loaded = DiffSal.from_pretrained(folder)
    assert loaded.config.frames_out == 1 and loaded.config == model.config
    frames, audio = make_inputs()
    noise = torch.randn(2, 1, TINY.height, TINY.width, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded.sample(frames, audio, steps=2, noise=noise).mean,
                       model.sample(frames, audio, steps=2, noise=noise).mean)


# ---------------------------------------------------------------- inputs
def test_input_errors_are_clear():
    model = make_model()
    frames, audio = make_inputs()
    with pytest.raises(InputError, match=r"frames must be \(B, 3, 8, 64, 112\)"):
        model.sample(frames[:, :, :4], audio)
    with pytest.raises(InputError, match="the model needs 24320.*1.52 s"):
        model.sample(frames, audio[:, :16_000])
    with pytest.raises(InputError, match="target must be"):
        model.training_loss(frames, audio, torch.rand(2, 1, 32, 32))
    with pytest.raises(InputError, match="video-only model"):
        make_model(use_audio=False).sample(frames, audio)


# ---------------------------------------------------------------- training
def test_training_loss_is_seeded_and_reaches_every_trainable_parameter():
    model = make_model().train()
    frames, audio = make_inputs()
    target = torch.rand(2, 1, TINY.height, TINY.width)
    loss = model.training_loss(frames, audio, target, generator=torch.Generator().manual_seed(3))
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    dead = [name for name, p in model.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)]
    assert dead == []
    model.eval()  # no dropout / drop-path: the seeded loss is reproducible
    with torch.no_grad():
        same = [float(model.training_loss(frames, audio, target, generator=torch.Generator().manual_seed(3))) for _ in range(2)]
    assert same[0] == same[1]


def test_tiny_model_overfits_one_clip():
    """A real learning test: the x0 loss on one clip, measured at fixed t and noise, falls more than 10x."""
    torch.manual_seed(0)
    model = DiffSal(TINY)
    frames, audio = make_inputs(batch=1, seed=4)
    ys, xs = torch.meshgrid(torch.arange(TINY.height), torch.arange(TINY.width), indexing="ij")
    target = torch.exp(-((ys - 20.0) ** 2 + (xs - 70.0) ** 2) / (2 * 6.0**2))[None, None]
    frames, audio, target = frames.repeat(2, 1, 1, 1, 1), audio.repeat(2, 1), target.repeat(2, 1, 1, 1)

    def fixed_loss():
        model.eval()
        with torch.no_grad():
            conditioning = model.encode(frames, audio)
            x0 = model.scaling.encode(target)
            losses = []
            for seed, t in enumerate((0, 300, 600, 999)):
                noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
                steps = torch.full((2,), t)
                predicted = model.denoise(model.diffusion.q_sample(x0, steps, noise), steps, conditioning)
                losses.append(float(((predicted - x0) ** 2).mean()))
        model.train()
        return sum(losses) / len(losses)

    before = fixed_loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):
        loss = model.training_loss(frames, audio, target, generator=generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = fixed_loss()
    assert after < before / 10, (before, after)


# ---------------------------------------------------------------- save / load
def test_save_and_load_round_trip(tmp_path):
    model = make_model()
    model.audio_encoder.trunk_pretrained = True
    model.audio_encoder.freeze_trunk()
    frames, audio = make_inputs()
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    loaded = DiffSal.from_pretrained(tmp_path / "m", map_location="cpu")
    assert loaded.config == model.config and not loaded.training
    assert all(not p.requires_grad for p in loaded.audio_encoder.trunk.parameters())
    from safetensors.torch import load_file
    stored = load_file(str(tmp_path / "m" / "model.safetensors"))
    assert set(stored) == set(model.state_dict()) and not any("embeddings" in k for k in stored)
    first = model.sample(frames, audio, steps=2, generator=torch.Generator().manual_seed(0)).mean
    second = loaded.sample(frames, audio, steps=2, generator=torch.Generator().manual_seed(0)).mean
    assert torch.equal(first, second)


def test_load_errors_are_clear(tmp_path):
    model = make_model()
    directory = tmp_path / "m"
    with pytest.raises(InputError, match="model directory not found"):
        DiffSal.from_pretrained(directory)
    model.save_pretrained(directory)

    document = json.loads((directory / "config.json").read_text())
    document["config"]["unet"]["fuse_channels"] = 48
    (directory / "config.json").write_text(json.dumps(document))
    with pytest.raises(WeightsError, match=r"shape mismatch .*stages\.0\.collapse\.weight: \(32, 640\) vs \(48, 640\)"):
        DiffSal.from_pretrained(directory)

    document["config"]["unet"]["fuse_channels"] = 32
    document["config"]["use_audio"] = False
    (directory / "config.json").write_text(json.dumps(document))
    with pytest.raises(WeightsError, match=r"unexpected audio_encoder\."):
        DiffSal.from_pretrained(directory)

    document["config"]["use_audio"] = True
    document["config"]["video"]["colour"] = 3
    (directory / "config.json").write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="config.json: video.colour: unknown key"):
        DiffSal.from_pretrained(directory)

    (directory / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        DiffSal.from_pretrained(directory)

    model.save_pretrained(directory)
    weights = directory / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        DiffSal.from_pretrained(directory)
    weights.unlink()
    with pytest.raises(WeightsError, match="model.safetensors not found"):
        DiffSal.from_pretrained(directory)
