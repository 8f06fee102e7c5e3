"""Audio input of the published DiffSal model: excerpt bounds, buffer placement, the rate-dependent number of
examples and the repeat rule, the unpadded VGGish log-mel (against plain numpy), the resize, the resampler
fallback, and the WAV reader's int16 scale."""

import math
import sys
import warnings
import wave

import numpy as np
import pytest
import torch

from diffsal.errors import InputError
from diffsal.io import read_audio
from diffsal.models.audio import LogMelFrontEnd
from diffsal.models.config import AudioEncoderConfig
from diffsal.models.published import audio_frontend as af

# Measured against resampy 0.4.3 (FALLBACK_ERROR_NOTE): 1e-12 on the waveform, 0 on the float32 model input; the
# bounds leave room for float rounding (a flipped float32 rounding shows up to ~100x in the quiet mel bands).
FALLBACK_WAVEFORM_BOUND = 1e-10
FALLBACK_AUDIO_BOUND = 1e-5


def noise_track(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """int16-scaled noise plus two tones, like a WAV read as int16 / 32768."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    x = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 5000 * t) + 0.05 * rng.standard_normal(len(t))
    return np.round(np.clip(x, -1, 1) * 32767).astype(np.int16) / 32768.0


# --- excerpt bounds and buffer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first_frame, fps, rate, num_samples, expected",
    [
        # frames 13..28 (1-based) at 30 fps, 22.05 kHz: n = 735; 12/30*22050 - 367.5 = 8452.5; 27/30*22050 + 367.5
        (12, 30.0, 22_050, 40_425, (8452, 20213)),
        # the first clip: start clipped to 0; 15/30*44100 + 735 = 22785
        (0, 30.0, 44_100, 80_850, (0, 22786)),
        # 48 kHz at 25 fps, frames 20..35: 19*0.04*48000 - 960 = 35520; 34*0.04*48000 + 960 = 66240
        (19, 25.0, 48_000, 100_800, (35520, 66241)),
        # a clip running past the end of the track: end clipped to the track's length
        (20, 30.0, 22_050, 20_000, (14332, 20001)),
        # padded before the video: frames -4..11 -> start 0, end 10/30*22050 + 367.5 = 7717.5
        (-5, 30.0, 22_050, 40_425, (0, 7718)),
        # last frame 0: the published abs() turns -735 + 367.5 into 367.5
        (-16, 30.0, 22_050, 40_425, (0, 368)),
    ],
)
def test_excerpt_bounds_hand_computed(first_frame, fps, rate, num_samples, expected):
    assert af.excerpt_bounds(first_frame, fps, rate, num_samples) == expected


def test_frame_bounds_overlap_by_the_truncation():
    # frame 2 at 30 fps, 22.05 kHz: 735 - 367.5 = 367.5 -> 367; 735 + 367.5 = 1102.5 -> 1102
    assert af.frame_sample_bounds(2, 30.0, 22_050, 10_000) == (367, 1102)
    assert af.frame_sample_bounds(1, 30.0, 22_050, 10_000) == (0, 367)


def test_buffer_length_is_rate_independent():
    assert af.buffer_length(16) == 35_280
    assert af.buffer_length(8) == 17_640


def test_buffer_placement_even_and_odd():
    even = af.place_in_buffer(np.array([1.0, 2.0, 3.0, 4.0]), 10)  # [5 - 2 : 5 + 2]
    np.testing.assert_array_equal(even, [0, 0, 0, 1, 2, 3, 4, 0, 0, 0])
    odd = af.place_in_buffer(np.array([1.0, 2.0, 3.0]), 10)  # [5 - 1 : 5 + 1 + 1]
    np.testing.assert_array_equal(odd, [0, 0, 0, 0, 1, 2, 3, 0, 0, 0])
    odd_buffer = af.place_in_buffer(np.array([1.0, 2.0]), 11)  # centre 11 // 2 = 5
    np.testing.assert_array_equal(odd_buffer, [0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0])
    assert af.place_in_buffer(np.array([]), 4).tolist() == [0, 0, 0, 0]
    assert af.place_in_buffer(np.ones(4), 4).tolist() == [1, 1, 1, 1]


def test_clip_buffer_holds_the_excerpt_at_the_native_rate():
    track = noise_track(1.5, 22_050)
    buffer = af.clip_buffer(track, 22_050, 12, 30.0)
    assert buffer.shape == (35_280,) and buffer.dtype == np.float64
    start, stop = 8452, 20213  # 11 761 samples, odd: sample 5880 at 17 640
    np.testing.assert_array_equal(buffer[17_640 - 5880 : 17_640 + 5881], track[start:stop])
    assert not buffer[: 17_640 - 5880].any() and not buffer[17_640 + 5881 :].any()


def test_excerpt_longer_than_the_buffer_is_refused():
    track = noise_track(3.0, 44_100)
    with pytest.raises(InputError, match="more than the 35280"):
        af.clip_buffer(track, 44_100, 10, 20.0)  # 16 frames of 2205 samples + 1


def test_rate_too_high_for_one_example_is_refused():
    # 35 280 samples at 96 kHz: 0.3675 s, 35 frames, not one 64-frame example
    with pytest.raises(InputError, match="less than one 0.64 s example"):
        af.published_log_mel_examples(noise_track(1.0, 96_000), 96_000, 0, 60.0, resampler="scipy")


def test_a_click_49_ms_before_the_target_frame_is_at_the_centre_of_the_examples():
    # frames 13..28 (1-based) at 30 fps, 22.05 kHz: the target is the median frame, 21, at 20/30 s. Excerpt
    # sample 5880 (wav 14332) sits at buffer sample 17640; nine examples span 16 kHz samples [0, 24560), centre
    # 12280 = buffer sample 16924.1 = wav sample 13616.1 = 0.61751 s = 49.2 ms before 0.66667 s.
    track = np.zeros(40_425)
    track[round((20 / 30 - 0.0492) * 22_050)] = 0.5
    every = af.vggish_examples(af.resample_to_vggish_rate(af.clip_buffer(track, 22_050, 12, 30.0), 22_050, "scipy"))
    assert every.shape[0] == 9
    energy = every[4].exp().sum(-1)  # example 4 holds frames 44..107; the span's middle frames 75, 76 are rows 31, 32
    assert int(energy.argmax()) in (31, 32)
    torch.testing.assert_close(energy[31], energy[32], rtol=0.05, atol=0)


# --- examples, repeat rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "count, expected",
    [
        (1, [0] * 9),
        (2, [0, 0, 0, 0, 1, 1, 1, 1, 0]),
        (3, [0, 0, 0, 1, 1, 1, 2, 2, 2]),
        (4, [0, 0, 1, 1, 2, 2, 3, 3, 0]),
        (5, [0, 1, 2, 3, 4, 0, 1, 2, 3]),
        (9, list(range(9))),
        (15, list(range(9))),
    ],
)
def test_repeat_rule(count, expected):
    examples = torch.arange(count, dtype=torch.float32)[:, None, None].expand(count, 2, 3)
    out = af.repeat_examples(examples)
    assert out.shape == (9, 2, 3)
    assert out[:, 0, 0].tolist() == expected


@pytest.mark.parametrize(
    "rate, count, picked",
    [
        (16_000, 15, list(range(9))),
        (22_050, 9, list(range(9))),
        (44_100, 2, [0, 0, 0, 0, 1, 1, 1, 1, 0]),
        (48_000, 1, [0] * 9),
    ],
)
def test_number_of_examples_depends_on_the_sample_rate(rate, count, picked):
    track = noise_track(1.5, rate)
    buffer = af.clip_buffer(track, rate, 12, 30.0)
    every = af.vggish_examples(af.resample_to_vggish_rate(buffer, rate, "scipy"))
    assert every.shape == (count, 64, 64)
    if count > 1:  # neighbours differ, so the comparison below tells which were kept (at 16 kHz e0, e1 are silent)
        assert (every[count // 2] != every[count // 2 - 1]).any()
    got = af.published_log_mel_examples(track, rate, 12, 30.0, resampler="scipy")
    torch.testing.assert_close(got, every[picked], rtol=0, atol=0)


def test_silence_gives_constant_log_offset():
    for rate in (16_000, 22_050, 44_100):
        mel = af.published_log_mel_examples(np.zeros(rate), rate, 3, 30.0, resampler="scipy")
        audio = af.published_audio_examples(np.zeros(rate), rate, 3, 30.0, resampler="scipy")
        expected = torch.log(torch.tensor(0.01))
        assert torch.equal(mel, torch.full_like(mel, expected))
        torch.testing.assert_close(audio, torch.full_like(audio, expected), rtol=0, atol=1e-6)


def test_below_9_8_khz_the_examples_miss_the_excerpt():
    mel = af.published_log_mel_examples(noise_track(1.5, 8_000), 8_000, 12, 30.0, resampler="scipy")
    assert torch.equal(mel, torch.full_like(mel, torch.log(torch.tensor(0.01))))


def test_output_shape_and_dtype():
    track = noise_track(1.5, 22_050)
    mel = af.published_log_mel_examples(track, 22_050, 12, 30.0, resampler="scipy")
    audio = af.published_audio_examples(track[None], 22_050, 12, 30.0, resampler="scipy")  # (1, N) accepted
    assert mel.shape == (9, 64, 64) and mel.dtype == torch.float32
    assert audio.shape == (1, 9, 112, 192) and audio.dtype == torch.float32
    torch.testing.assert_close(audio, af.resize_examples(mel)[None], rtol=0, atol=0)
    assert torch.cat([audio, audio]).shape == (2, 9, 112, 192)  # batched as the model takes it
    other = af.published_audio_examples(track, 22_050, 12, 30.0, size=(56, 96), resampler="scipy")
    assert other.shape == (1, 9, 56, 96)
    silent = af.published_audio_examples(np.zeros(0), 16_000, 0, 30.0)  # a track without sound
    torch.testing.assert_close(silent, torch.full_like(silent, math.log(0.01)), rtol=0, atol=1e-6)
    with pytest.raises(InputError, match="mono"):
        af.published_audio_examples(np.zeros((2, 1000)), 22_050, 0, 30.0)


# --- log-mel against numpy -----------------------------------------------------------------------------------


def numpy_vggish_examples(waveform: np.ndarray) -> np.ndarray:
    """VGGish examples written out in float64 numpy: unpadded 400-sample periodic-Hann frames every 160 samples,
    |rfft(512)|, 64 HTK-mel triangles 125-7500 Hz (evaluated in mel, no weight on DC), log(mel + 0.01), then
    64-frame examples every 11 frames from the first."""
    window, hop, n_fft, bands, rate = 400, 160, 512, 64, 16_000
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)
    count = 1 + (len(waveform) - window) // hop
    spectra = np.array([np.abs(np.fft.rfft(waveform[i * hop : i * hop + window] * hann, n_fft))
                        for i in range(count)])

    def mel(f):
        return 1127.0 * np.log(1.0 + f / 700.0)

    bins = mel(np.linspace(0, rate / 2, n_fft // 2 + 1))
    edges = np.linspace(mel(125.0), mel(7500.0), bands + 2)
    matrix = np.zeros((n_fft // 2 + 1, bands))
    for b in range(bands):
        rising = (bins - edges[b]) / (edges[b + 1] - edges[b])
        falling = (edges[b + 2] - bins) / (edges[b + 2] - edges[b + 1])
        matrix[:, b] = np.maximum(0, np.minimum(rising, falling))
    matrix[0] = 0
    log_mel = np.log(spectra @ matrix + 0.01)
    examples = 1 + (len(log_mel) - 64) // 11
    return np.stack([log_mel[11 * e : 11 * e + 64] for e in range(examples)])


def test_unpadded_log_mel_matches_numpy():
    rng = np.random.default_rng(1)
    n = 400 + 160 * (64 + 2 * 11 - 1) + 150  # 86 frames (150 samples left over) -> 3 examples
    t = np.arange(n) / 16_000
    waveform = 0.3 * np.sin(2 * np.pi * 700 * t) + 0.05 * rng.standard_normal(n)
    expected = numpy_vggish_examples(waveform)
    got = af.vggish_examples(waveform)
    assert expected.shape == got.shape == (3, 64, 64)
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=2e-5)


def test_front_end_without_centring_does_not_pad():
    front = LogMelFrontEnd(AudioEncoderConfig(), centre=False)
    waveform = torch.randn(1, 1000)
    out = front(waveform)
    assert out.shape == (1, 1 + (1000 - 400) // 160, 64)
    torch.testing.assert_close(out[0, 1], front(waveform[:, 160:560])[0, 0])


def test_resize_is_torchvision_resize():
    transforms = pytest.importorskip("torchvision.transforms")
    examples = torch.randn(9, 64, 64, generator=torch.Generator().manual_seed(0))
    expected = torch.stack([transforms.Resize((112, 192))(e[None])[0] for e in examples])
    assert torch.equal(af.resize_examples(examples), expected)
    plain = torch.nn.functional.interpolate(examples[:, None], size=(112, 192), mode="bilinear", align_corners=False)
    torch.testing.assert_close(af.resize_examples(examples), plain[:, 0], rtol=0, atol=3e-5)  # rounding only


# --- resampling ----------------------------------------------------------------------------------------------


def test_without_resampy_auto_uses_scipy(monkeypatch):
    monkeypatch.setitem(sys.modules, "resampy", None)  # import resampy -> ImportError
    buffer = af.clip_buffer(noise_track(1.0, 22_050), 22_050, 0, 30.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        automatic = af.resample_to_vggish_rate(buffer, 22_050)
    np.testing.assert_array_equal(automatic, af.resample_to_vggish_rate(buffer, 22_050, "scipy"))
    with pytest.raises(ImportError):
        af.resample_to_vggish_rate(buffer, 22_050, "resampy")


def test_resampled_length_and_a_tone_survive():
    for rate in (8_000, 22_050, 44_100, 48_000):
        t = np.arange(rate) / rate
        out = af.resample_to_vggish_rate(np.sin(2 * np.pi * 1000 * t), rate, "scipy")
        assert len(out) == int(rate * 16_000 / rate)
        expected = np.sin(2 * np.pi * 1000 * np.arange(len(out)) / 16_000)
        np.testing.assert_allclose(out[2000:-2000], expected[2000:-2000], atol=5e-4)  # passband ripple


@pytest.mark.parametrize("rate", [8_000, 22_050, 32_000, 44_100, 48_000])
def test_fallback_is_within_the_measured_bound_of_resampy(rate):
    resampy = pytest.importorskip("resampy")
    track = noise_track(1.5, rate, seed=rate)
    buffer = af.clip_buffer(track, rate, 9, 30.0)
    reference = resampy.resample(buffer, rate, 16_000)
    np.testing.assert_array_equal(af.resample_to_vggish_rate(buffer, rate, "resampy"), reference)
    fallback = af.resample_to_vggish_rate(buffer, rate, "scipy")
    assert np.abs(fallback - reference).max() < FALLBACK_WAVEFORM_BOUND
    ours = af.published_audio_examples(track, rate, 9, 30.0, resampler="scipy")
    theirs = af.published_audio_examples(track, rate, 9, 30.0, resampler="resampy")
    assert (ours - theirs).abs().max() < FALLBACK_AUDIO_BOUND


# --- WAV reader ----------------------------------------------------------------------------------------------


def test_read_audio_returns_int16_over_32768(tmp_path):
    rng = np.random.default_rng(2)
    pcm = np.concatenate([[-32768, 32767, 0, 1, -1], rng.integers(-32768, 32768, 5000)]).astype("<i2")
    path = tmp_path / "mono.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(22_050)
        handle.writeframes(pcm.tobytes())
    track = read_audio(path, sample_rate_hz=None, mono=True)
    assert track.sample_rate_hz == 22_050
    assert track.samples.shape == (1, len(pcm))
    np.testing.assert_array_equal(track.samples[0].astype(np.float64), pcm / 32768.0)
    assert math.isclose(float(track.samples[0, 0]), -1.0)
