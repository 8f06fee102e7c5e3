"""Audio front end (checked against plain numpy), example framing, VGGish trunk loading, temporal transformer."""

import math

import numpy as np
import pytest
import torch

from diffsal.errors import InputError
from diffsal.models import AudioEncoderConfig, DiffSalConfig, WeightsError
from diffsal.models.audio import AudioEncoder, LogMelFrontEnd, frame_examples

SR = 16_000


def numpy_log_mel(waveform: np.ndarray) -> np.ndarray:
    """A direct transcription of the AudioSet/VGGish recipe, written independently of the torch code:
    pad (window - hop) / 2 zeros per side, 400-sample periodic Hann frames every 160 samples, |rfft(512)|,
    64 HTK-mel triangles 125-7500 Hz evaluated on the mel axis (DC bin excluded), log(mel + 0.01)."""
    window, hop, n_fft, bands = 400, 160, 512, 64
    padded = np.concatenate([np.zeros(120), waveform, np.zeros(120)])
    hann = np.array([0.5 - 0.5 * math.cos(2 * math.pi * i / window) for i in range(window)])
    count = 1 + (len(padded) - window) // hop
    spectra = []
    for i in range(count):
        frame = padded[i * hop : i * hop + window] * hann
        spectra.append(np.abs(np.fft.rfft(frame, n=n_fft)))
    spectra = np.array(spectra)

    def mel(f):
        return 1127.0 * math.log(1.0 + f / 700.0)

    edges = [mel(125.0) + (mel(7500.0) - mel(125.0)) * k / (bands + 1) for k in range(bands + 2)]
    bins = [mel(SR / 2 * k / (n_fft // 2)) for k in range(n_fft // 2 + 1)]
    matrix = np.zeros((n_fft // 2 + 1, bands))
    for b in range(bands):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        for k in range(1, n_fft // 2 + 1):
            m = bins[k]
            if lo < m <= mid:
                matrix[k, b] = (m - lo) / (mid - lo)
            elif mid < m < hi:
                matrix[k, b] = (hi - m) / (hi - mid)
    return np.log(spectra @ matrix + 0.01)


def test_log_mel_matches_numpy_reference():
    rng = np.random.default_rng(0)
    t = np.arange(4000) / SR
    waveform = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))
    expected = numpy_log_mel(waveform)
    got = LogMelFrontEnd(AudioEncoderConfig())(torch.tensor(waveform, dtype=torch.float32)[None])[0].numpy()
    assert got.shape == expected.shape == (4000 // 160, 64)
    np.testing.assert_allclose(got, expected, atol=2e-4)


@pytest.mark.parametrize("frequency_hz", [300.0, 1000.0, 3000.0])
def test_a_tone_peaks_in_its_mel_band(frequency_hz):
    t = torch.arange(SR) / SR
    log_mel = LogMelFrontEnd(AudioEncoderConfig())(torch.sin(2 * math.pi * frequency_hz * t)[None])[0]
    peak_band = int(log_mel.mean(0).argmax())
    mel = lambda f: 1127.0 * math.log1p(f / 700.0)  # noqa: E731
    centres = [mel(125.0) + (mel(7500.0) - mel(125.0)) * (b + 1) / 65 for b in range(64)]
    nearest = min(range(64), key=lambda b: abs(centres[b] - mel(frequency_hz)))
    assert abs(peak_band - nearest) <= 1


def test_paper_framing_is_1_52_s_and_nine_examples():
    config = AudioEncoderConfig()
    assert config.window_s == pytest.approx(1.52) and config.num_samples == 24_320
    assert DiffSalConfig.preset("paper").audio_window_s == pytest.approx(1.52)
    log_mel = LogMelFrontEnd(config)(torch.zeros(1, config.num_samples))
    assert log_mel.shape == (1, 152, 64)


def test_frame_examples_are_centred_and_hop_11_frames():
    frames = torch.arange(160, dtype=torch.float32).view(1, 160, 1).expand(1, 160, 3)
    examples = frame_examples(frames, num_examples=9, example_frames=64, hop_frames=11)
    assert examples.shape == (1, 9, 64, 3)
    start = (160 - 152) // 2
    for i in range(9):
        assert examples[0, i, :, 0].tolist() == list(range(start + 11 * i, start + 11 * i + 64))
    with pytest.raises(InputError, match="needs 152"):
        frame_examples(frames[:, :100], 9, 64, 11)


def test_tiny_audio_encoder_shapes():
    config = DiffSalConfig.preset("tiny").audio
    encoder = AudioEncoder(config)
    out = encoder(torch.randn(2, config.num_samples))
    assert out.shape == (2, 32, 9, 2, 4)


def test_paper_audio_features_align_with_the_coarsest_video_map():
    with torch.device("meta"):
        encoder = AudioEncoder(AudioEncoderConfig())
        out = encoder(torch.zeros(1, 24_320))
    assert tuple(out.shape) == (1, 512, 9, 7, 12)


def test_temporal_position_embedding_breaks_permutation_symmetry():
    torch.manual_seed(0)
    config = DiffSalConfig.preset("tiny").audio
    temporal = AudioEncoder(config).temporal.eval()
    features = torch.randn(1, 32, 9, 2, 4)
    order = torch.randperm(9)
    with torch.no_grad():
        temporal.position.normal_(0, 1.0)
        shuffled_in = temporal(features[:, :, order])
        shuffled_out = temporal(features)[:, :, order]
        assert not torch.allclose(shuffled_in, shuffled_out, atol=1e-3)
        temporal.position.zero_()  # without it a transformer is permutation-equivariant
        assert torch.allclose(temporal(features[:, :, order]), temporal(features)[:, :, order], atol=1e-5)


def vggish_state(trunk_channels=(64, 128, 256, 512), with_fc=True):
    """A random state dict in the layout of torchvggish's `vggish-10086976.pth`."""
    generator = torch.Generator().manual_seed(7)
    state = {}
    c1, c2, c3, c4 = trunk_channels
    for index, (cin, cout) in zip((0, 3, 6, 8, 11, 13), ((1, c1), (c1, c2), (c2, c3), (c3, c3), (c3, c4), (c4, c4))):
        state[f"features.{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=generator)
        state[f"features.{index}.bias"] = torch.randn(cout, generator=generator)
    if with_fc:  # values do not matter: these layers are dropped
        for index, (cin, cout) in zip((0, 2, 4), ((512 * 4 * 6, 4096), (4096, 4096), (4096, 128))):
            state[f"embeddings.{index}.weight"] = torch.zeros(cout, cin)
            state[f"embeddings.{index}.bias"] = torch.zeros(cout)
    return state


def test_vggish_file_loads_into_the_paper_trunk_and_freezes_it(tmp_path):
    state = vggish_state()
    path = tmp_path / "vggish-10086976.pth"
    torch.save(state, path)
    encoder = AudioEncoder(AudioEncoderConfig())
    report = encoder.load_vggish_weights(path)
    for key, value in state.items():
        if key.startswith("features."):
            assert torch.equal(encoder.trunk.state_dict()[key], value), key
    assert sorted(report.loaded) == sorted(k for k in state if k.startswith("features."))
    assert sorted(report.ignored) == sorted(k for k in state if k.startswith("embeddings."))
    assert not any("embeddings" in key for key in encoder.state_dict())
    assert all(not p.requires_grad for p in encoder.trunk.parameters())
    assert all(p.requires_grad for p in encoder.temporal.parameters())


def test_vggish_loading_errors_name_the_keys(tmp_path):
    encoder = AudioEncoder(DiffSalConfig.preset("tiny").audio)
    path = tmp_path / "vggish.pth"
    torch.save(vggish_state(), path)
    with pytest.raises(WeightsError, match=r"features\.0\.weight: \(64, 1, 3, 3\) vs \(8, 1, 3, 3\)"):
        encoder.load_vggish_weights(path)
    assert all(p.requires_grad for p in encoder.trunk.parameters())  # nothing changed

    state = vggish_state((8, 16, 32, 32), with_fc=False)
    del state["features.13.bias"]
    state["pproc.pca"] = torch.zeros(2)
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"missing features\.13\.bias.*unexpected pproc\.pca"):
        encoder.load_vggish_weights(path)

    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(WeightsError, match="not a readable PyTorch weights file"):
        encoder.load_vggish_weights(path)
    with pytest.raises(WeightsError, match="not found"):
        encoder.load_vggish_weights(tmp_path / "absent.pth")


def test_transformer_layer_is_torchs_encoder_layer_with_sdpa():
    """Same parameters (names, shapes, initial values) and outputs as nn.TransformerEncoderLayer(norm_first)."""
    from diffsal.models.audio import TransformerLayer

    torch.manual_seed(3)
    ours = TransformerLayer(32, 4, 64)
    torch.manual_seed(3)
    reference = torch.nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0, activation="gelu",
                                                 batch_first=True, norm_first=True)
    ours_state, reference_state = ours.state_dict(), reference.state_dict()
    assert sorted(ours_state) == sorted(reference_state)
    assert all(torch.equal(ours_state[key], reference_state[key]) for key in ours_state)
    tokens = torch.randn(2, 27, 32)
    with torch.no_grad():
        for mode in (ours.train, ours.eval):
            mode()
            reference.train(ours.training)
            torch.testing.assert_close(ours(tokens), reference(tokens), rtol=1e-4, atol=1e-5)
