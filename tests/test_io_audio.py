import av
import numpy as np
import pytest

from diffsal.errors import MediaError
from diffsal.io import MODEL_SAMPLE_RATE_HZ, AudioTrack, read_audio
from media import click_track, make_video


def _click_time_s(track: AudioTrack, center_s: float, window_s: float = 0.3) -> float:
    window = track.window(center_s, window_s)[0]
    return center_s - window_s / 2 + int(np.argmax(np.abs(window))) / track.sample_rate_hz


@pytest.mark.parametrize(
    "extension, rate_hz, channels",
    [("mp4", 44_100, 2), ("mkv", 48_000, 1), ("avi", 44_100, 2), ("mov", 22_050, 1), ("webm", 48_000, 2)],
)
def test_click_is_found_within_one_millisecond_whatever_the_source_rate(tmp_path, extension, rate_hz, channels):
    click_s = 1.2345
    path = make_video(tmp_path / f"click.{extension}", num_frames=75, fps=25,
                      audio=click_track(3.0, rate_hz, click_s, channels), audio_rate_hz=rate_hz)
    track = read_audio(path)
    assert track.sample_rate_hz == MODEL_SAMPLE_RATE_HZ
    assert track.num_channels == 1 and track.samples.dtype == np.float32
    assert track.has_audio
    assert abs(_click_time_s(track, click_s) - click_s) < 0.001


def test_window_is_centred_and_sized_in_seconds():
    rate = 16_000
    samples = np.arange(rate * 2, dtype=np.float32)[None] / rate  # value = time in seconds
    track = AudioTrack(samples, rate)
    window = track.window(1.0, 0.5)
    assert window.shape == (1, 8000)
    assert window[0, 0] == pytest.approx(0.75)
    assert window[0, 4000] == pytest.approx(1.0)


def test_window_is_zero_padded_outside_the_track():
    rate = 16_000
    track = AudioTrack(np.ones((1, rate), np.float32), rate)  # 1 s of ones
    before = track.window(0.0, 1.0)[0]
    assert np.all(before[:8000] == 0) and np.all(before[8000:] == 1)
    after = track.window(1.0, 1.0)[0]
    assert np.all(after[:8000] == 1) and np.all(after[8000:] == 0)
    assert np.all(track.window(5.0, 0.2) == 0)


def test_window_respects_the_track_start_time():
    rate = 16_000
    samples = np.zeros((1, rate), np.float32)
    samples[0, 0] = 1.0
    track = AudioTrack(samples, rate, start_s=0.5)  # sample 0 plays at 0.5 s on the video clock
    assert _click_time_s(track, 0.5) == pytest.approx(0.5, abs=1 / rate)


def test_bad_window_duration():
    with pytest.raises(ValueError, match="positive"):
        AudioTrack.silence().window(1.0, 0.0)


def test_video_without_audio_gives_flagged_silence(tmp_path):
    track = read_audio(make_video(tmp_path / "silent.mp4", num_frames=10))
    assert not track.has_audio
    window = track.window(0.2, 1.52)
    assert window.shape == (1, 24_320) and not window.any()


def test_native_rate_and_channels_can_be_kept(tmp_path):
    path = make_video(tmp_path / "stereo.mp4", audio=click_track(1.2, 44_100, 0.5, channels=2))
    track = read_audio(path, sample_rate_hz=None, mono=False)
    assert track.sample_rate_hz == 44_100 and track.num_channels == 2
    assert abs(_click_time_s(track, 0.5) - 0.5) < 0.001


def test_wav_next_to_a_frame_folder(tmp_path):
    rate = 48_000
    path = tmp_path / "video.wav"
    samples = click_track(2.0, rate, 0.75, channels=1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        pcm = (samples * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    track = read_audio(path)
    assert track.start_s == 0.0
    assert track.duration_s == pytest.approx(2.0, abs=1e-3)
    assert abs(_click_time_s(track, 0.75) - 0.75) < 0.001


def test_unreadable_audio_file(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(MediaError, match="broken.wav"):
        read_audio(path)


def _sine(amplitude: float, seconds: float, rate: int, hz: float = 440.0) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def test_stereo_becomes_the_mean_of_its_channels(tmp_path):
    """Not FFmpeg's (L + R) / sqrt(2), which would peak at 1.27 here."""
    rate = 44_100
    wave = _sine(0.9, 1.0, rate)
    same = read_audio(make_video(tmp_path / "same.avi", 10, 10, audio=np.stack([wave, wave]), audio_rate_hz=rate))
    assert np.abs(same.samples).max() == pytest.approx(0.9, abs=0.01)
    left_only = make_video(tmp_path / "left.avi", 10, 10, audio=np.stack([wave, 0 * wave]), audio_rate_hz=rate)
    one_side = read_audio(left_only)
    assert np.abs(one_side.samples).max() == pytest.approx(0.45, abs=0.01)


def test_five_one_is_kept_or_averaged_over_all_six_channels(tmp_path):
    rate = 48_000
    sound = np.zeros((6, rate), np.float32)
    sound[2] = _sine(0.6, 1.0, rate)  # FC: the dialogue channel
    path = make_video(tmp_path / "film.avi", 10, 10, audio=sound, audio_rate_hz=rate, audio_layout="5.1")
    native = read_audio(path, sample_rate_hz=None, mono=False)
    assert native.num_channels == 6 and native.layout == "5.1"
    peaks = np.abs(native.samples).max(axis=1)
    assert peaks[2] == pytest.approx(0.6, abs=0.05) and np.all(np.delete(peaks, 2) < 0.01)
    mono = read_audio(path)
    assert mono.num_channels == 1 and mono.layout == "mono"
    assert np.abs(mono.samples).max() == pytest.approx(0.6 / 6, abs=0.01)


def test_eight_channels_are_read(tmp_path):
    """PyAV cannot hand over planar audio of 8 channels (it crashed the process); packed it can."""
    rate = 44_100
    sound = np.zeros((8, rate // 2), np.float32)
    sound[7] = _sine(0.5, 0.5, rate)
    path = make_video(tmp_path / "wide.avi", 5, 10, audio=sound, audio_rate_hz=rate, audio_layout="7.1")
    native = read_audio(path, sample_rate_hz=None, mono=False)
    assert native.samples.shape == (8, rate // 2) and native.layout == "7.1"
    assert np.abs(native.samples[7]).max() == pytest.approx(0.5, abs=0.01)
    assert np.abs(read_audio(path).samples).max() == pytest.approx(0.5 / 8, abs=0.01)
