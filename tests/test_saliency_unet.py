"""Saliency-UNet pieces: noise branch, MIM, cross-attention (checked against a loop reference), the UNet."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from diffsal.models import DiffSalConfig
from diffsal.models.attention import SpatioTemporalCrossAttention, to_heads
from diffsal.models.blocks import timestep_embedding
from diffsal.models.interaction import ConcatFusion, MultiModalInteraction
from diffsal.models.saliency_unet import SaliencyUNet

TINY = DiffSalConfig.preset("tiny")


def tiny_unet(audio=True, fusion="mim"):
    torch.manual_seed(0)
    unet_config = dataclasses.replace(TINY.unet, audio_fusion=fusion)
    return SaliencyUNet(unet_config, TINY.video.channels, num_video_slots=4, audio_channels=32 if audio else None).eval()


def tiny_inputs(batch=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    video = [torch.randn(batch, t, h, w, c, generator=g) for c, t, h, w in TINY.feature_sizes]  # channels-last
    audio = torch.randn(batch, 32, 9, 2, 4, generator=g)
    noisy = torch.randn(batch, 1, TINY.height, TINY.width, generator=g)
    t = torch.tensor([10, 900])[:batch]
    return noisy, t, video, audio


def test_timestep_embedding_is_sinusoidal():
    emb = timestep_embedding(torch.tensor([0, 5]), 8)
    assert emb.shape == (2, 8)
    assert torch.allclose(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    assert emb[1, 0] == pytest.approx(math.sin(5.0))


def test_noise_branch_matches_every_video_scale_and_depends_on_t():
    unet = tiny_unet()
    noisy, t, _, _ = tiny_inputs()
    maps = unet.noise_encoder(noisy, unet.time_embedding(t))
    assert [tuple(m.shape[1:]) for m in maps] == [(c, h, w) for c, _, h, w in TINY.feature_sizes]
    other = unet.noise_encoder(noisy, unet.time_embedding(t + 50))
    assert all(not torch.allclose(a, b) for a, b in zip(maps, other))


def test_every_decoder_stage_shape():
    unet = tiny_unet()
    noisy, t, video, audio = tiny_inputs()
    seen = []
    for stage in unet.stages:
        stage.register_forward_hook(lambda m, i, o: seen.append((tuple(o[0].shape), tuple(o[1].shape))))
    with torch.no_grad():
        out = unet(noisy, t, video, audio)
    assert seen == [((2, 5, h, w, c), (2, TINY.unet.fuse_channels, h, w)) for c, _, h, w in reversed(TINY.feature_sizes)]
    assert out.shape == (2, 1, TINY.height, TINY.width)
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0


def test_to_heads_permutes_tokens_and_channels():
    x = torch.arange(2 * 3 * 2 * 2 * 4, dtype=torch.float32).view(2, 3, 2, 2, 4)  # (B, S, H, W, C)
    heads = to_heads(x, 2)
    assert heads.shape == (2, 2, 12, 2)
    for b, s, h, w, c in ((1, 2, 1, 0, 3), (0, 1, 0, 1, 1)):
        assert heads[b, c // 2, (s * 2 + h) * 2 + w, c % 2] == x[b, s, h, w, c]


def reference_attention(module, x, context):
    """Loop-over-heads reference: softmax(q k^T / sqrt(head width)) v on pooled keys/values, then the MLP."""
    batch, slots, height, width, channels = x.shape
    heads = module.num_heads
    width_h = channels // heads
    pool = (min(height, module.kv_pool_size[0]), min(width, module.kv_pool_size[1]))

    def project(proj, tensor, pooled):
        y = F.conv2d(tensor.permute(0, 1, 4, 2, 3).reshape(-1, channels, height, width), proj.depthwise.weight,
                     padding=1, groups=channels)
        y = F.linear(y.permute(0, 2, 3, 1), proj.pointwise.weight, proj.pointwise.bias)  # (B*S, H, W, C)
        if pooled:
            y = F.adaptive_avg_pool2d(y.permute(0, 3, 1, 2), pool).permute(0, 2, 3, 1)
        return y.reshape(batch, -1, channels)  # tokens in (S, H, W) order

    normed = module.norm(x)
    keys_from = context if context is not None else normed
    q, k, v = project(module.query, normed, False), project(module.key, keys_from, True), project(module.value, normed, True)
    outputs = []
    for h in range(heads):
        part = slice(h * width_h, (h + 1) * width_h)
        weights = torch.softmax(q[..., part] @ k[..., part].transpose(1, 2) / math.sqrt(width_h), dim=-1)
        outputs.append(weights @ v[..., part])
    tokens = x.reshape(batch, -1, channels) + module.out(torch.cat(outputs, dim=-1))
    tokens = tokens + module.mlp(module.mlp_norm(tokens))
    return tokens.reshape(x.shape)


@pytest.mark.parametrize("with_context", [True, False])
def test_cross_attention_matches_reference(with_context):
    torch.manual_seed(0)
    module = SpatioTemporalCrossAttention(8, num_heads=2, kv_pool_size=(2, 3), mlp_ratio=2.0).eval()
    x = torch.randn(2, 3, 4, 6, 8)
    context = torch.randn(2, 3, 4, 6, 8) if with_context else None
    with torch.no_grad():
        assert torch.allclose(module(x, context), reference_attention(module, x, context), atol=1e-5)


def test_mim_weights_are_a_spatial_softmax_modulating_audio():
    torch.manual_seed(0)
    mim = MultiModalInteraction(audio_channels=6, channels=4).eval()
    visual = torch.randn(2, 5, 3, 4, 4)  # (B, S, H, W, C)
    audio = torch.randn(2, 6, 9, 1, 2)
    with torch.no_grad():
        tokens, f_avs = mim(visual, audio)
        pooled = mim.audio.norm(mim.audio.proj(audio.mean(dim=(3, 4)).transpose(1, 2)))  # (B, E, C)
        per_slot = F.interpolate(pooled.transpose(1, 2), size=5, mode="linear").transpose(1, 2)  # (B, S, C)
        weights = f_avs / per_slot[:, :, None, None, :]  # the spatial weights, one per (B, H, W)
    assert f_avs.shape == tokens.shape == (2, 5, 3, 4, 4)
    assert torch.allclose(weights, weights[:, :1, :, :, :1].expand_as(weights), atol=1e-4)
    assert torch.allclose(weights[:, 0, :, :, 0].mean(dim=(1, 2)), torch.ones(2), atol=1e-5)
    assert torch.allclose(tokens, visual + mim.residual(f_avs), atol=1e-6)  # f_avs also reaches the tokens
    with torch.no_grad():
        assert not torch.allclose(mim(visual * 3 + 1, audio)[1], f_avs)  # the visual side steers the weights


def test_mim_reads_the_audio_grid_as_one_vector_per_example():
    """The audio's (h, w) grid is averaged: rearranging it within an example changes nothing."""
    torch.manual_seed(0)
    mim = MultiModalInteraction(audio_channels=6, channels=4).eval()
    visual = torch.randn(2, 5, 3, 4, 4)
    audio = torch.randn(2, 6, 9, 2, 3)
    with torch.no_grad():
        assert torch.allclose(mim(visual, audio)[1], mim(visual, audio.flip(3, 4))[1], atol=1e-6)
        assert not torch.allclose(mim(visual, audio)[1], mim(visual, audio.flip(2))[1])  # time order matters


def test_concat_fusion_adds_a_projection_of_token_and_audio():
    torch.manual_seed(0)
    fusion = ConcatFusion(audio_channels=6, channels=4).eval()
    visual = torch.randn(2, 5, 3, 4, 4)
    audio = torch.randn(2, 6, 9, 1, 2)
    with torch.no_grad():
        tokens, context = fusion(visual, audio)
        other, _ = fusion(visual, torch.randn_like(audio))
    assert context is None and tokens.shape == visual.shape
    assert not torch.allclose(tokens, other)
    # The audio part of the projection is the same for every position of a slot.
    audio_part = tokens - visual - visual @ fusion.proj.weight[:, :4].T
    assert torch.allclose(audio_part, audio_part[:, :, :1, :1].expand_as(audio_part), atol=1e-5)


@pytest.mark.parametrize("audio_model", [True, False])
def test_output_depends_on_noisy_map_and_t(audio_model):
    """Published defect 1 (noise slot discarded) would make both differences exactly zero."""
    unet = tiny_unet(audio=audio_model)
    noisy, t, video, audio = tiny_inputs()
    audio = audio if audio_model else None
    with torch.no_grad():
        base = unet(noisy, t, video, audio)
        other_noise = unet(torch.randn_like(noisy), t, video, audio)
        other_t = unet(noisy, t + 77, video, audio)
    assert (base - other_noise).abs().max() > 1e-4
    assert (base - other_t).abs().max() > 1e-4


@pytest.mark.parametrize("fusion", ["mim", "concat"])
def test_audio_reaches_the_output_and_can_be_absent(fusion):
    unet = tiny_unet(audio=True, fusion=fusion)
    noisy, t, video, audio = tiny_inputs()
    with torch.no_grad():
        base = unet(noisy, t, video, audio)
        # Audio enters the tokens directly, so it moves the output already at initialisation (with keys
        # only, as published, the effect was ~1e-5 and the audio path was never learned).
        assert (base - unet(noisy, t, video, torch.randn_like(audio))).abs().max() > 1e-3
        without = unet(noisy, t, video, None)
    assert without.shape == base.shape and not torch.allclose(without, base)


@pytest.mark.parametrize("fusion", ["mim", "concat"])
def test_every_parameter_gets_a_gradient(fusion):
    unet = tiny_unet(audio=True, fusion=fusion).train()
    noisy, t, video, audio = tiny_inputs()
    unet(noisy, t, video, audio).sum().backward()
    dead = [name for name, p in unet.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert dead == []
