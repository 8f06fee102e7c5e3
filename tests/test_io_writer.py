import av
import numpy as np
import pytest

from diffsal.errors import MediaError
from diffsal.io import AudioTrack, VideoReader, probe, read_audio, write_video
from media import click_track, decode_pattern_index, frame_matches, pattern_frame


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


def test_variable_frame_times_are_kept(tmp_path):
    """Frame k at the given time, the last frame as long as the gap before it, the sound in step."""
    path = tmp_path / "vfr.mp4"
    gaps_s = [0.08 if k % 2 == 0 else 0.04 for k in range(39)]
    times_s = np.concatenate([[0.0], np.cumsum(gaps_s)])  # 40 frames, 2.36 s + 0.08 s
    rate = 44_100
    audio = AudioTrack(click_track(3.0, rate, times_s[25], channels=2), rate)
    frames = (pattern_frame(k, 64, 48) for k in range(40))
    assert write_video(path, frames, fps=40 / 2.44, audio=audio, frame_times_s=times_s) == 40
    video = VideoReader(path)
    assert video.num_frames == 40
    assert max(abs(video.time_of(k) - times_s[k]) for k in range(40)) <= 1 / 90_000
    assert video.duration_s == pytest.approx(2.44, abs=1e-4)
    assert all(decode_pattern_index(video.frame(k)) == k for k in (0, 17, 39))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert float(stream.duration * stream.time_base) == pytest.approx(2.44, abs=1e-3)
    info = probe(path)
    assert abs(info.audio.duration_s - 2.44) < 0.03  # cut to the video (one AAC frame)
    window = read_audio(path).window(times_s[25], 0.2)[0]
    assert abs(int(np.argmax(np.abs(window))) - 1600) <= 16  # the click still plays with frame 25


def test_frame_times_must_fit_the_frames(tmp_path):
    frames = [pattern_frame(k, 64, 48) for k in range(3)]
    with pytest.raises(ValueError, match="start at 0"):
        write_video(tmp_path / "a.mp4", frames, fps=25, frame_times_s=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="increase"):
        write_video(tmp_path / "b.mp4", frames, fps=25, frame_times_s=[0.0, 0.2, 0.2])
    with pytest.raises(ValueError, match="more frames than the 2"):
        write_video(tmp_path / "c.mp4", frames, fps=25, frame_times_s=[0.0, 0.1])
    with pytest.raises(ValueError, match="3 frames for 4"):
        write_video(tmp_path / "d.mp4", frames, fps=25, frame_times_s=[0.0, 0.1, 0.2, 0.3])
    assert list(tmp_path.iterdir()) == []


def _centre_only(channels: int, rate: int, seconds: float = 1.0) -> np.ndarray:
    sound = np.zeros((channels, int(seconds * rate)), np.float32)
    sound[2] = 0.5 * np.sin(2 * np.pi * 440 * np.arange(sound.shape[1]) / rate)  # FC in FFmpeg's order
    return sound


@pytest.mark.parametrize("layout, stored", [("5.1", "5.1"), ("5.1(side)", "5.1"), ("6 channels", "5.1")])
def test_five_one_sound_keeps_its_centre_channel(tmp_path, layout, stored):
    path = tmp_path / "film.mp4"
    rate = 48_000
    audio = AudioTrack(_centre_only(6, rate), rate, layout=layout)
    write_video(path, (pattern_frame(k, 64, 48) for k in range(25)), fps=25, audio=audio)
    info = probe(path)
    assert info.audio.channels == 6 and info.audio.layout == stored
    track = read_audio(path, sample_rate_hz=None, mono=False)
    assert track.layout == stored
    loudness = np.sqrt((track.samples[:, rate // 10 : -rate // 10] ** 2).mean(axis=1))
    assert loudness[2] == pytest.approx(0.5 / np.sqrt(2), rel=0.1)  # the centre, at its level
    assert np.all(np.delete(loudness, 2) < 0.02)


def test_seven_one_sound_is_folded_into_stereo(tmp_path):
    path = tmp_path / "wide.mp4"
    rate = 48_000
    write_video(path, (pattern_frame(k, 64, 48) for k in range(25)), fps=25,
                audio=AudioTrack(_centre_only(8, rate), rate, layout="7.1"))
    assert probe(path).audio.layout == "stereo"
    track = read_audio(path, sample_rate_hz=None, mono=False)
    loudness = np.sqrt((track.samples[:, rate // 10 : -rate // 10] ** 2).mean(axis=1))
    assert np.all(loudness > 0.1)  # the centre plays on both sides


def test_gray_video_round_trips_every_value_exactly(tmp_path):
    from diffsal.io.video import read_gray_video
    from diffsal.io.writer import write_gray_video

    rng = np.random.default_rng(0)
    maps = [rng.integers(0, 256, (17, 31), dtype=np.uint8) for _ in range(6)]  # odd size, every level likely
    maps.append(np.resize(np.arange(256, dtype=np.uint8), (17, 31)))  # every level once at least
    assert write_gray_video(tmp_path / "maps.mp4", iter(maps), 12.5) == 7
    got = list(read_gray_video(tmp_path / "maps.mp4"))
    assert len(got) == 7 and all(np.array_equal(a, b) for a, b in zip(got, maps))


def test_gray_video_refuses_what_it_cannot_store(tmp_path):
    from diffsal.io.video import read_gray_video
    from diffsal.io.writer import write_gray_video

    with pytest.raises(MediaError, match="no frames"):
        write_gray_video(tmp_path / "a.mp4", [], 25)
    with pytest.raises(MediaError, match=r"map 1 is float32"):
        write_gray_video(tmp_path / "b.mp4", [np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.float32)], 25)
    assert not list(tmp_path.iterdir())  # nothing half-written
    (tmp_path / "c.mp4").write_bytes(b"not a video")
    with pytest.raises(MediaError):
        list(read_gray_video(tmp_path / "c.mp4"))


def test_the_same_frames_encode_to_the_same_bytes(tmp_path):
    """Camera-like frames of a size that is not a multiple of 16, written eight times in one process: one file. (With
    x264's macroblock tree, the same frames gave several different files.)"""
    from diffsal.io.writer import write_gray_video

    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[0:138, 0:82]
    frames = []
    for index in range(120):  # a disc moving over a gradient, with a little noise: what a camera gives
        frame = np.zeros((138, 82, 3), np.uint8)
        frame[..., 2] = columns * 3
        frame[(columns - (index * 7) % 82) ** 2 + (rows - 69) ** 2 < 80] = (250, 30, 30)
        frames.append(np.clip(frame + rng.integers(0, 30, frame.shape), 0, 255).astype(np.uint8))
    sound = AudioTrack(np.stack([np.sin(np.arange(22_050) / 7.0)] * 2).astype(np.float32), 44_100)
    videos, maps = set(), set()
    for run in range(8):
        write_video(tmp_path / f"v{run}.mp4", iter(frames), 120, audio=sound)
        write_gray_video(tmp_path / f"m{run}.mp4", (frame[..., 0] for frame in frames), 120)
        videos.add((tmp_path / f"v{run}.mp4").read_bytes())
        maps.add((tmp_path / f"m{run}.mp4").read_bytes())
    assert len(videos) == 1 and len(maps) == 1
