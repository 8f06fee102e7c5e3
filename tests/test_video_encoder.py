"""MViTv2 video encoder: architecture equal to torchvision's, stage maps, options, Kinetics-400 weight loading."""

import dataclasses
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.video import mvit_v2_s
from torchvision.models.video.mvit import MViT, _interpolate

from diffsal.errors import ConfigError
from diffsal.models import DiffSalConfig, VideoEncoderConfig, WeightsError
from diffsal.models.pooled_attention import use_sdpa
from diffsal.models.video import (
    REL_POS_SUFFIXES,
    VideoEncoder,
    build_mvit,
    mvit_block_settings,
    resize_rel_pos,
)

TINY = DiffSalConfig.preset("tiny")
PAPER = DiffSalConfig.preset("paper")
# MViTv2-S's relative-position table lengths (h and w) for a 224x224 image (the Kinetics-400 file's), per block.
K400_TABLE_LENGTHS = [111, 55, 55] + [27] * 12 + [13]


def torchvision_mvit(config, num_frames, image_size, num_classes=1, **options):
    """torchvision's `MViT` with MViTv2-S's options, as `build_mvit` builds it by default (the same RNG draws)."""
    return MViT(spatial_size=image_size, temporal_size=num_frames, block_setting=mvit_block_settings(config),
                residual_pool=True, residual_with_cls_embed=False, rel_pos_embed=True, proj_after_attn=True,
                num_classes=num_classes, **options)


def set_tables(mvit, tables):
    """Replace the relative-position tables of `mvit`'s blocks by copies of `tables` (key -> tensor), any length."""
    for key, table in tables.items():
        block, name = key.split(".attn.")
        setattr(mvit.get_submodule(block).attn, name, nn.Parameter(table.clone()))


def tables_of(state):
    return {key: value for key, value in state.items() if key.endswith(REL_POS_SUFFIXES)}


def layer_norms(module):
    return {name: child for name, child in module.named_modules() if isinstance(child, nn.LayerNorm)}


def test_default_settings_are_torchvisions_mvit_v2_s():
    ours = build_mvit(VideoEncoderConfig(), 16, (224, 224))
    reference = mvit_v2_s()
    assert {k: v.shape for k, v in ours.state_dict().items() if not k.startswith("head.")} == \
        {k: v.shape for k, v in reference.state_dict().items() if not k.startswith("head.")}
    assert VideoEncoderConfig().output_blocks == (0, 2, 13, 15)


def test_paper_preset_maps_have_the_published_shapes():
    with torch.device("meta"):
        encoder = VideoEncoder(PAPER.video, 16, (224, 384))
        maps = encoder(torch.zeros(1, 3, 16, 224, 384))
    assert [tuple(m.shape[1:]) for m in maps] == [(96, 8, 56, 96), (192, 8, 28, 48), (384, 8, 14, 24), (768, 8, 7, 12)]
    assert [tuple(m.shape[1:]) for m in maps] == PAPER.feature_sizes


def test_maps_are_the_block_outputs_without_class_token_in_t_h_w_order():
    """Compare with hooks on torchvision's own MViT holding the same weights (catches reshape/permute bugs, and
    checks that the SDPA attention computes torchvision's attention, up to float rounding)."""
    torch.manual_seed(0)
    config = TINY.video
    encoder = VideoEncoder(config, TINY.num_frames, (TINY.height, TINY.width)).eval()
    reference = torchvision_mvit(config, TINY.num_frames, (TINY.height, TINY.width)).eval()
    reference.load_state_dict(encoder.state_dict(), strict=False)
    captured = {}
    for index in config.output_blocks:
        reference.blocks[index].register_forward_hook(lambda m, i, o, index=index: captured.__setitem__(index, o))
    frames = torch.randn(2, 3, TINY.num_frames, TINY.height, TINY.width)
    with torch.no_grad():
        maps = encoder(frames)
        reference(frames)
    for feature, index in zip(maps, config.output_blocks):
        tokens, (t, h, w) = captured[index]
        assert feature.shape == (2, tokens.shape[-1], t, h, w)
        # token 1 + (ti * h + hi) * w + wi holds position (ti, hi, wi); token 0 is the class token
        for ti, hi, wi in ((0, 0, 0), (t - 1, h - 1, w - 1), (t // 2, h - 1, 0)):
            torch.testing.assert_close(feature[:, :, ti, hi, wi], tokens[:, 1 + (ti * h + hi) * w + wi],
                                       rtol=1e-4, atol=1e-5)


def test_tiny_preset_maps():
    encoder = VideoEncoder(TINY.video, TINY.num_frames, (TINY.height, TINY.width))
    maps = encoder(torch.randn(1, 3, TINY.num_frames, TINY.height, TINY.width))
    assert [tuple(m.shape[1:]) for m in maps] == TINY.feature_sizes == \
        [(16, 4, 16, 28), (32, 4, 8, 14), (64, 4, 4, 7), (128, 4, 2, 4)]


def capture_outputs(mvit, blocks, stage_norms=None):
    """Forward hooks on `mvit.blocks[i]`, i in `blocks`: {i: (tokens, thw)} of the last forward. With
    `stage_norms`, the hook on the s-th block replaces its tokens by `stage_norms[s](tokens)` in the stream."""
    captured = {}

    def hook(module, inputs, output, index, norm):
        tokens, thw = output
        if norm is not None:
            tokens = norm(tokens)
        captured[index] = tokens, thw
        return tokens, thw

    for stage, index in enumerate(blocks):
        norm = stage_norms[stage] if stage_norms is not None else None
        mvit.blocks[index].register_forward_hook(partial(hook, index=index, norm=norm))
    return captured


def assert_maps_are(maps, captured, blocks, **tolerance):
    """Each map is the captured block output without its class token, in (C, T, H, W) order."""
    for feature, index in zip(maps, blocks):
        tokens, thw = captured[index]
        expected = tokens[:, 1:].reshape(tokens.shape[0], *thw, tokens.shape[-1]).permute(0, 4, 1, 2, 3)
        if tolerance:
            torch.testing.assert_close(feature, expected, **tolerance)
        else:
            assert torch.equal(feature, expected), index


def test_default_options_build_todays_encoder():
    """Without the options the encoder is torchvision's MViT built for the clip, as before they existed: the same
    parameters from the same seed, every LayerNorm at torchvision's eps 1e-6, and the same maps, bit for bit."""
    config, size = TINY.video, (TINY.height, TINY.width)
    assert (config.stage_norms, config.layer_norm_eps, config.rel_pos_size) == (False, 1e-6, None)
    torch.manual_seed(0)
    reference = torchvision_mvit(config, TINY.num_frames, size).eval()
    torch.manual_seed(0)
    encoder = VideoEncoder(config, TINY.num_frames, size).eval()
    own = encoder.state_dict()
    kept = {key: value for key, value in reference.state_dict().items() if not key.startswith(("norm.", "head."))}
    assert list(own) == list(kept) and all(torch.equal(own[key], kept[key]) for key in own)
    assert len(encoder.stage_norms) == 0
    assert {norm.eps for norm in layer_norms(encoder).values()} == {1e-6}
    use_sdpa(reference.blocks)  # the encoder's attention: the same computation, hence the same bits
    captured = capture_outputs(reference, config.output_blocks)
    frames = torch.randn(2, 3, TINY.num_frames, *size)
    with torch.no_grad():
        maps = encoder(frames)
        reference(frames)
    assert_maps_are(maps, captured, config.output_blocks)


def test_stage_norms_normalise_the_stream_after_each_stage():
    config, size = dataclasses.replace(TINY.video, stage_norms=True), (TINY.height, TINY.width)
    torch.manual_seed(0)
    plain = VideoEncoder(TINY.video, TINY.num_frames, size).eval()
    torch.manual_seed(0)
    encoder = VideoEncoder(config, TINY.num_frames, size).eval()
    own, before = encoder.state_dict(), plain.state_dict()
    assert {key: tuple(value.shape) for key, value in own.items() if key not in before} == \
        {f"stage_norms.{stage}.{name}": (channels,) for stage, channels in enumerate(config.channels)
         for name in ("weight", "bias")}
    assert isinstance(encoder.stage_norms, nn.ModuleList)
    assert all(torch.equal(own[key], before[key]) for key in before)  # the stage norms draw no random numbers
    frames = torch.randn(2, 3, TINY.num_frames, *size)
    with torch.no_grad():
        maps, plain_maps = encoder(frames), plain(frames)

    def normalised(feature):  # over the channels, eps 1e-6, identity affine (the stage norms' initial values)
        return F.layer_norm(feature.movedim(1, -1), feature.shape[1:2], eps=1e-6).movedim(-1, 1)

    # Stage 1 reads the stream the plain encoder reads; every map is normalised over its channels.
    torch.testing.assert_close(maps[0], normalised(plain_maps[0]))
    for feature in maps:
        torch.testing.assert_close(feature.mean(1), torch.zeros_like(feature[:, 0]), rtol=0, atol=1e-5)
        torch.testing.assert_close(feature.var(1, unbiased=False), torch.ones_like(feature[:, 0]), rtol=0, atol=1e-3)
    # The normalised tokens go on into the next stage: the first norm's scales change the later maps.
    with torch.no_grad():
        encoder.stage_norms[0].weight.copy_(torch.linspace(0.5, 1.5, config.channels[0]))
        scaled = encoder(frames)
    torch.testing.assert_close(scaled[0], maps[0] * encoder.stage_norms[0].weight.view(-1, 1, 1, 1))
    assert all(not torch.allclose(new, old, atol=1e-3) for new, old in zip(scaled[1:], maps[1:]))


def test_layer_norm_eps_reaches_every_layer_norm():
    config = dataclasses.replace(TINY.video, stage_norms=True, layer_norm_eps=1e-5)
    encoder = VideoEncoder(config, TINY.num_frames, (TINY.height, TINY.width))
    norms = layer_norms(encoder)
    per_block = ("norm1", "norm2", "attn.pool_q.norm_act.0", "attn.pool_k.norm_act.0", "attn.pool_v.norm_act.0")
    assert set(norms) == {f"blocks.{block}.{name}" for block in range(len(encoder.blocks)) for name in per_block} | \
        {f"stage_norms.{stage}" for stage in range(4)}
    assert {norm.eps for norm in norms.values()} == {1e-5}
    # The pooling norms are those the SDPA attention runs.
    assert type(encoder.blocks[0].attn).__name__ == "PooledAttention"
    assert encoder.blocks[0].attn.pool_v.norm_act[0] is norms["blocks.0.attn.pool_v.norm_act.0"]


def test_rel_pos_size_sets_the_table_lengths():
    """MViTv2-S at 224x384: tables built for 224x224 (the paper preset, the Kinetics-400 file's lengths) or for the
    clip; torchvision's length is 2 * max(q, kv) - 1 over the larger side."""
    with torch.device("meta"):
        paper = VideoEncoder(PAPER.video, 16, (224, 384))
        own_size = VideoEncoder(VideoEncoderConfig(), 16, (224, 384))
    for encoder, lengths in ((paper, K400_TABLE_LENGTHS), (own_size, [191, 95, 95] + [47] * 12 + [23])):
        assert [block.attn.rel_pos_h.shape[0] for block in encoder.blocks] == lengths
        assert [block.attn.rel_pos_w.shape[0] for block in encoder.blocks] == lengths
        assert {block.attn.rel_pos_t.shape[0] for block in encoder.blocks} == {15}
    # Nothing else depends on the size the tables are built for: the positional encoding is the class token alone.
    assert [name for name, _ in paper.pos_encoding.named_parameters()] == ["class_token"]
    def shapes(encoder):
        return {key: value.shape for key, value in encoder.state_dict().items() if not key.endswith(REL_POS_SUFFIXES)}

    assert shapes(paper) == shapes(own_size)
    with torch.device("meta"):
        maps = paper(torch.zeros(1, 3, 16, 224, 384))
    assert [tuple(m.shape[1:]) for m in maps] == PAPER.feature_sizes


def test_the_three_options_reproduce_hooks_on_torchvisions_blocks():
    """Stage norms, eps 1e-5 and tables built for a square image equal torchvision's MViT with every LayerNorm at
    eps 1e-5, the square tables (interpolated at run time to the 64x112 clip's grid), and forward hooks on the output
    blocks that layer-normalise all their tokens in the stream. In float64: float32 rounding alone is ~1e-6."""
    torch.manual_seed(0)
    size = (TINY.height, TINY.width)
    config = dataclasses.replace(TINY.video, stage_norms=True, layer_norm_eps=1e-5, rel_pos_size=(64, 64))
    encoder = VideoEncoder(config, TINY.num_frames, size).double().eval()
    hook_norms = [nn.LayerNorm(channels, eps=1e-5, dtype=torch.float64) for channels in config.channels]
    with torch.no_grad():
        for own, norm in zip(encoder.stage_norms, hook_norms):  # a random affine, the same on both sides
            norm.weight.normal_(1.0, 0.5)
            norm.bias.normal_(0.0, 0.5)
            own.load_state_dict(norm.state_dict())
    reference = torchvision_mvit(config, TINY.num_frames, size, norm_layer=partial(nn.LayerNorm, eps=1e-5))
    reference = reference.double().eval()
    state = encoder.state_dict()
    set_tables(reference, tables_of(state))
    result = reference.load_state_dict(state, strict=False)
    assert {key.split(".")[0] for key in result.missing_keys} == {"norm", "head"}
    assert {key.split(".")[0] for key in result.unexpected_keys} == {"stage_norms"}
    assert {norm.eps for norm in layer_norms(reference).values()} == {1e-5}
    # The tables are shorter than the clip's grid needs: both sides interpolate them (the 16x28 grid of stage 1
    # needs 2 * 28 - 1 = 55 entries along the width; the tables have 2 * 16 - 1 = 31).
    assert encoder.blocks[0].attn.rel_pos_w.shape[0] == 31
    captured = capture_outputs(reference, config.output_blocks, hook_norms)
    frames = torch.randn(2, 3, TINY.num_frames, *size, dtype=torch.float64)
    with torch.no_grad():
        maps = encoder(frames)
        reference(frames)
    assert_maps_are(maps, captured, config.output_blocks, rtol=0, atol=1e-6)


def test_paper_preset_builds_the_tables_for_the_kinetics_size():
    assert PAPER.video.rel_pos_size == (224, 224)
    assert PAPER.frames_out == PAPER.num_frames == 16  # every slot of the clip
    assert dataclasses.replace(PAPER, frames_out=1, video=dataclasses.replace(PAPER.video, rel_pos_size=None)) \
        == DiffSalConfig()
    assert DiffSalConfig.from_dict(PAPER.to_dict()) == PAPER
    # A config.json written before the options existed loads with them off: the tables built for the clip.
    data = PAPER.to_dict()
    for key in ("stage_norms", "layer_norm_eps", "rel_pos_size"):
        del data["video"][key]
    assert DiffSalConfig.from_dict(data) == dataclasses.replace(DiffSalConfig(), frames_out=16)


@pytest.mark.parametrize("change,message", [
    ({"stage_norms": 1}, "video.stage_norms: expected true/false"),
    ({"layer_norm_eps": 0}, "video.layer_norm_eps must be positive, got 0.0"),
    ({"layer_norm_eps": "small"}, "video.layer_norm_eps: expected a number"),
    ({"rel_pos_size": [224]}, "video.rel_pos_size: expected 2 items"),
    ({"rel_pos_size": [224, 30]}, r"video.rel_pos_size must be null or an image size .*got \[224, 30\]"),
    ({"rel_pos_size": [16, 16]}, r"video.rel_pos_size must be null or an image size .*got \[16, 16\]"),
])
def test_option_errors_name_the_key(change, message):
    data = TINY.to_dict()
    data["video"] = {**data["video"], **change}
    with pytest.raises(ConfigError, match=message):
        DiffSalConfig.from_dict(data)


def test_resize_rel_pos_matches_torchvisions_runtime_interpolation():
    table = torch.randn(111, 96)
    assert torch.equal(resize_rel_pos(table, 111), table)
    assert torch.allclose(resize_rel_pos(table, 191), _interpolate(table, 191))


@pytest.fixture(scope="module")
def kinetics_file(tmp_path_factory):
    """torchvision's MViTv2-S (224x224, Kinetics-400 head) with random values, saved as its .pth file."""
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("weights") / "mvit_v2_s-ae3be167.pth"
    state = mvit_v2_s().state_dict()
    torch.save(state, path)
    return path, state


def test_kinetics_tables_load_at_their_length_into_the_paper_preset(kinetics_file):
    """The paper preset's tables are the file's, untouched, and run as torchvision runs them: its own MViT at 224x384
    given the file's tables (interpolated once, at run time). Resizing them at load time too was a ~1 % error."""
    path, state = kinetics_file
    encoder = VideoEncoder(PAPER.video, PAPER.num_frames, (PAPER.height, PAPER.width)).eval()
    report = encoder.load_kinetics_weights(path)
    assert report.ok and not report.interpolated
    assert all(torch.equal(value, state[key]) for key, value in encoder.state_dict().items())
    table = state["blocks.0.attn.rel_pos_h"]
    twice = _interpolate(resize_rel_pos(table, 191), 111)  # what loading into 224x384 and running used to do
    assert float((twice - table).norm() / table.norm()) > 1e-2

    # 4 frames (not the 16 the temporal tables were built for) keep this fast; both sides interpolate those too.
    reference = torchvision_mvit(PAPER.video, 4, (224, 384), num_classes=400).eval()  # mvit_v2_s at 4x224x384
    set_tables(reference, tables_of(state))
    reference.load_state_dict(state)
    captured = capture_outputs(reference, PAPER.video.output_blocks)
    frames = torch.randn(1, 3, 4, 224, 384)
    with torch.no_grad():
        maps = encoder(frames)
        reference(frames)
    # Float rounding of the SDPA attention only: ~1e-6 relative. Tables resized at load time as well changed the
    # maps by ~1 % (up to 0.07 absolute here).
    assert_maps_are(maps, captured, PAPER.video.output_blocks, rtol=1e-4, atol=1e-4)


def test_kinetics_tables_are_resized_once_for_tables_built_for_the_clip(kinetics_file):
    path, state = kinetics_file
    encoder = VideoEncoder(VideoEncoderConfig(), 16, (224, 384))
    report = encoder.load_kinetics_weights(path)
    own = encoder.state_dict()
    assert set(own) == set(report.loaded) | set(report.interpolated)
    assert sorted(report.ignored) == sorted(k for k in state if k.startswith(("head.", "norm.")))
    assert not report.unexpected and not report.missing and not report.mismatched
    # The spatial tables grow with the 384-pixel width; the temporal ones (16 frames) do not change.
    assert {k.rsplit(".", 1)[-1] for k in report.interpolated} == {"rel_pos_h", "rel_pos_w"}
    assert len(report.interpolated) == 2 * 16
    for key, value in own.items():
        if key in report.interpolated:
            assert value.shape[0] > state[key].shape[0]
            assert torch.allclose(value, _interpolate(state[key], value.shape[0]))
        else:
            assert torch.equal(value, state[key]), key


def test_kinetics_loading_errors_name_the_keys(kinetics_file, tmp_path):
    _, state = kinetics_file
    encoder = VideoEncoder(TINY.video, TINY.num_frames, (TINY.height, TINY.width))
    path = tmp_path / "mvit.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"shape mismatch blocks\.0\.attn\.pool_k\.norm_act\.0\.bias: \(96,\) vs \(16,\)"):
        encoder.load_kinetics_weights(path)

    paper = VideoEncoder(PAPER.video, 16, (224, 384))
    broken = dict(state)
    del broken["blocks.3.attn.qkv.weight"]
    broken["blocks.0.extra"] = torch.zeros(1)
    torch.save(broken, path)
    before = paper.state_dict()["blocks.0.attn.qkv.weight"].clone()
    with pytest.raises(WeightsError, match=r"missing blocks\.3\.attn\.qkv\.weight; unexpected blocks\.0\.extra"):
        paper.load_kinetics_weights(path)
    assert torch.equal(paper.state_dict()["blocks.0.attn.qkv.weight"], before)  # nothing half-loaded
    report = paper.load_kinetics_weights(path, strict=False)
    assert report.missing == ["blocks.3.attn.qkv.weight"] and report.unexpected == ["blocks.0.extra"]

    path.write_bytes(b"\x80\x02garbage")
    with pytest.raises(WeightsError, match="mvit.pth: not a readable PyTorch weights file"):
        paper.load_kinetics_weights(path)


def test_kinetics_weights_leave_the_stage_norms_at_identity(kinetics_file):
    """torchvision's files have no stage norms: strict loading keeps them at their initial values and lists them."""
    path, state = kinetics_file
    encoder = VideoEncoder(dataclasses.replace(PAPER.video, stage_norms=True, layer_norm_eps=1e-5), 16, (224, 384))
    report = encoder.load_kinetics_weights(path)
    assert report.missing == [f"stage_norms.{stage}.{name}" for stage in range(4) for name in ("weight", "bias")]
    assert not report.interpolated and not report.unexpected and not report.mismatched
    assert all(torch.equal(value, state[key]) for key, value in encoder.state_dict().items()
               if not key.startswith("stage_norms."))
    assert all(torch.equal(norm.weight, torch.ones_like(norm.weight)) and not norm.bias.any()
               for norm in encoder.stage_norms)


def original_attention_encoder(config, num_frames, size, monkeypatch):
    """A `VideoEncoder` whose blocks keep torchvision's `MultiscaleAttention` (and its `Pool` modules)."""
    import diffsal.models.video as video

    with monkeypatch.context() as patch:
        patch.setattr(video, "use_sdpa", lambda blocks: None)
        return VideoEncoder(config, num_frames, size)


@pytest.mark.parametrize("dtype,tolerance", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_pooled_attention_blocks_equal_torchvisions_attention(dtype, tolerance):
    """Every tiny-preset block (query stride 1x2x2 at the stage starts, kv strides 8, 4, 2, 1, one and two heads):
    the single-layout pooling and SDPA give torchvision's `MultiscaleAttention` output within float rounding."""
    from torchvision.models.video.mvit import MultiscaleAttention

    from diffsal.models.pooled_attention import PooledAttention

    torch.manual_seed(0)
    reference = torchvision_mvit(TINY.video, TINY.num_frames, (TINY.height, TINY.width)).to(dtype).eval()
    for block in reference.blocks:  # non-trivial LayerNorm affines in the pooling
        for pool in (block.attn.pool_q, block.attn.pool_k, block.attn.pool_v):
            nn.init.normal_(pool.norm_act[0].weight, 1.0, 0.2)
            nn.init.normal_(pool.norm_act[0].bias, 0.0, 0.2)
    names = list(reference.state_dict())
    with torch.no_grad():
        tokens = reference.pos_encoding(reference.conv_proj(
            torch.randn(2, 3, TINY.num_frames, TINY.height, TINY.width, dtype=dtype)).flatten(2).transpose(1, 2))
        thw = (TINY.num_frames // 2, TINY.height // 4, TINY.width // 4)
        strides = set()
        for block in reference.blocks:
            assert isinstance(block.attn, MultiscaleAttention)
            strides.add((tuple(block.attn.pool_q.pool.stride), tuple(block.attn.pool_k.pool.stride),
                         block.attn.num_heads))
            expected, expected_thw = block(tokens, thw)
            original = block.attn
            block.attn = PooledAttention(original)
            got, got_thw = block(tokens, thw)
            block.attn = original
            assert got_thw == expected_thw
            torch.testing.assert_close(got, expected, rtol=0, atol=tolerance)
            tokens, thw = expected, expected_thw
    assert {(1, 2, 2)} < {q for q, _, _ in strides} and len({kv for _, kv, _ in strides}) == 4
    assert {heads for _, _, heads in strides} == {1, 2}
    use_sdpa(reference.blocks)
    assert list(reference.state_dict()) == names  # the same parameters under the same names


@pytest.mark.parametrize("dtype,tolerance", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_encoder_with_pooled_attention_equals_torchvisions_attention(monkeypatch, dtype, tolerance):
    """The whole encoder, with the stage norms, another LayerNorm eps and tables built for another size."""
    config = dataclasses.replace(TINY.video, stage_norms=True, layer_norm_eps=1e-5, rel_pos_size=(48, 80))
    size = (TINY.height, TINY.width)
    torch.manual_seed(0)
    encoder = VideoEncoder(config, TINY.num_frames, size).to(dtype).eval()
    torch.manual_seed(0)
    reference = original_attention_encoder(config, TINY.num_frames, size, monkeypatch).to(dtype).eval()
    own, theirs = encoder.state_dict(), reference.state_dict()
    assert list(own) == list(theirs) and all(torch.equal(own[key], theirs[key]) for key in own)
    assert any(key.endswith("attn.pool_q.norm_act.0.weight") for key in own)
    assert any(key.endswith("attn.pool_k.pool.weight") for key in own)
    with torch.no_grad():
        for module in list(encoder.modules()):  # non-trivial LayerNorm affines, the same in both
            if isinstance(module, nn.LayerNorm):
                nn.init.normal_(module.weight, 1.0, 0.2)
                nn.init.normal_(module.bias, 0.0, 0.2)
        reference.load_state_dict(encoder.state_dict())
        frames = torch.randn(2, 3, TINY.num_frames, *size, dtype=dtype)
        maps, expected = encoder(frames), reference(frames)
    for feature, target in zip(maps, expected):
        torch.testing.assert_close(feature, target, rtol=0, atol=tolerance * max(1.0, target.abs().max().item()))


@pytest.mark.parametrize("q_thw,k_thw", [((4, 8, 12), (4, 2, 3)), ((2, 3, 5), (2, 6, 10)), ((3, 4, 4), (3, 4, 4))])
def test_relative_position_channels_give_torchvisions_terms(q_thw, k_thw):
    """The dot products of the extended queries and keys are `_add_rel_pos`'s terms, for keys pooled more than
    the queries, less than the queries, and not at all; zero in the class token's row and column."""
    from torchvision.models.video.mvit import _add_rel_pos

    from diffsal.models.pooled_attention import relative_position_channels

    torch.manual_seed(0)
    heads, head_dim = 2, 8
    size = max(q_thw[1], k_thw[1]), max(q_thw[2], k_thw[2]), max(q_thw[0], k_thw[0])
    tables_hwt = [torch.randn(2 * n + 3, head_dim, dtype=torch.float64) for n in size]  # interpolated to fit
    q = torch.randn(2, heads, 1 + q_thw[0] * q_thw[1] * q_thw[2], head_dim, dtype=torch.float64)
    keys = 1 + k_thw[0] * k_thw[1] * k_thw[2]
    expected = _add_rel_pos(q.new_zeros(2, heads, q.shape[2], keys), q, q_thw, k_thw, *tables_hwt)
    query_channels, key_channels = relative_position_channels(q, q_thw, k_thw, tables_hwt[2], *tables_hwt[:2])
    got = query_channels @ key_channels.to(q.dtype).T
    assert key_channels.shape == (keys, sum(k_thw)) and key_channels.sum(1).tolist() == [0] + [3] * (keys - 1)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    assert expected.abs().max() > 1  # the terms are not negligible
