import av
import numpy as np
import pytest

from diffsal.errors import MediaError
from diffsal.io import AudioTrack, VideoReader, probe, read_audio, write_video
from diffsal.io.test_pattern import decode_pattern_index, pattern_frame
from media import click_track, frame_matches


def test_written_mp4_has_exact_frames_and_aligned_audio(tmp_path):
    path = tmp_path / "out.mp4"
    rate = 44_100
    audio = AudioTrack(click_track(3.0, rate, 1.5, channels=2), rate)
    count = write_video(path, (pattern_frame(k, 192, 112) for k in range(50)), fps=25, audio=audio)
    assert count == 50
    info = probe(path)
    assert info.num_frames == 50 and info.fps == pytest.approx(25) and (info.width, info.height) == (192, 112)
    assert info.video_codec == "h264" and info.audio.codec == "aac"
    assert info.audio.sample_rate_hz == rate and info.audio.channels == 2
    assert abs(info.audio.duration_s - 2.0) < 1 / 25  # cut to the video's 2 s
    video = VideoReader(path)
    assert all(frame_matches(video.frame(k), k, 192, 112) for k in range(50))
    track = read_audio(path)
    window = track.window(1.5, 0.2)[0]
    assert abs(int(np.argmax(np.abs(window))) - 1600) <= 16  # within 1 ms at 16 kHz


def test_odd_sizes_are_padded_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    write_video(path, (pattern_frame(k, 101, 51) for k in range(5)), fps=10)
    video = VideoReader(path)
    assert video.size == (102, 52)
    assert decode_pattern_index(video.frame(3)[:51, :101]) == 3


def test_fractional_frame_rate(tmp_path):
    path = tmp_path / "ntsc.mp4"
    write_video(path, (pattern_frame(k, 64, 48) for k in range(30)), fps=30000 / 1001)
    assert VideoReader(path).fps == pytest.approx(29.97, abs=0.01)


def test_failure_midway_leaves_no_file(tmp_path):
    path = tmp_path / "broken.mp4"

    def frames():
        yield pattern_frame(0, 64, 48)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_video(path, frames(), fps=25)
    assert list(tmp_path.iterdir()) == []


def test_bad_frames_are_rejected(tmp_path):
    with pytest.raises(MediaError, match="no frames"):
        write_video(tmp_path / "a.mp4", [], fps=25)
    with pytest.raises(MediaError, match="frame 1 is 32x32, expected 64x48"):
        write_video(tmp_path / "b.mp4", [pattern_frame(0, 64, 48), np.zeros((32, 32, 3), np.uint8)], fps=25)
    with pytest.raises(MediaError, match="frame rate must be positive"):
        write_video(tmp_path / "c.mp4", [pattern_frame(0, 64, 48)], fps=0)
    with pytest.raises(MediaError, match="RGB"):
        write_video(tmp_path / "d.mp4", [np.zeros((48, 64), np.uint8)], fps=25)
    assert list(tmp_path.iterdir()) == []


def test_silence_track_writes_no_audio_stream(tmp_path):
    path = tmp_path / "silent.mp4"
    write_video(path, (pattern_frame(k, 64, 48) for k in range(5)), fps=25, audio=AudioTrack.silence())
    with av.open(str(path)) as container:
        assert not container.streams.audio
