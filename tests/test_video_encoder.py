"""MViTv2 video encoder: architecture equal to torchvision's, stage maps, Kinetics-400 weight loading."""

import pytest
import torch
from torchvision.models.video import mvit_v2_s
from torchvision.models.video.mvit import MViT, _interpolate

from diffsal.models import DiffSalConfig, VideoEncoderConfig, WeightsError
from diffsal.models.video import VideoEncoder, build_mvit, mvit_block_settings, resize_rel_pos

TINY = DiffSalConfig.preset("tiny")


def test_default_settings_are_torchvisions_mvit_v2_s():
    ours = build_mvit(VideoEncoderConfig(), 16, (224, 224))
    reference = mvit_v2_s()
    assert {k: v.shape for k, v in ours.state_dict().items() if not k.startswith("head.")} == \
        {k: v.shape for k, v in reference.state_dict().items() if not k.startswith("head.")}
    assert VideoEncoderConfig().output_blocks == (0, 2, 13, 15)


def test_paper_preset_maps_have_the_published_shapes():
    with torch.device("meta"):
        encoder = VideoEncoder(VideoEncoderConfig(), 16, (224, 384))
        maps = encoder(torch.zeros(1, 3, 16, 224, 384))
    assert [tuple(m.shape[1:]) for m in maps] == [(96, 8, 56, 96), (192, 8, 28, 48), (384, 8, 14, 24), (768, 8, 7, 12)]
    assert [tuple(m.shape[1:]) for m in maps] == DiffSalConfig().feature_sizes


def test_maps_are_the_block_outputs_without_class_token_in_t_h_w_order():
    """Compare with hooks on torchvision's own MViT holding the same weights (catches reshape/permute bugs, and
    checks that the SDPA attention computes torchvision's attention, up to float rounding)."""
    torch.manual_seed(0)
    config = TINY.video
    encoder = VideoEncoder(config, TINY.num_frames, (TINY.height, TINY.width)).eval()
    reference = MViT(spatial_size=(TINY.height, TINY.width), temporal_size=TINY.num_frames,
                     block_setting=mvit_block_settings(config), residual_pool=True, residual_with_cls_embed=False,
                     rel_pos_embed=True, proj_after_attn=True, num_classes=5).eval()
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


def test_kinetics_weights_load_into_the_224x384_paper_encoder(kinetics_file):
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

    paper = VideoEncoder(VideoEncoderConfig(), 16, (224, 384))
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
