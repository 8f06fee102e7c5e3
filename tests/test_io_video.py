import av
import numpy as np
import pytest

from diffsal.errors import MediaError
from diffsal.io import VideoReader, read_audio
from diffsal.io.video import Orientation
from media import click_track, decode_pattern_index, frame_matches, make_cover_art_audio, make_video, pattern_frame

WIDTH, HEIGHT = 160, 96


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    made = {}
    for extension in ("mp4", "mkv", "mov", "avi", "webm"):
        rate = 48_000 if extension == "webm" else 44_100
        made[extension] = make_video(folder / f"v.{extension}", num_frames=60, fps=25,
                                     audio=click_track(2.4, rate, 1.0), audio_rate_hz=rate)
    return made


@pytest.mark.parametrize("extension", ["mp4", "mkv", "mov", "avi", "webm"])
def test_random_access_is_frame_exact(videos, extension):
    rng = np.random.default_rng(1)
    with VideoReader(videos[extension]) as video:
        assert video.num_frames == 60
        assert video.fps == pytest.approx(25.0)
        assert video.size == (WIDTH, HEIGHT)
        for index in rng.permutation(60)[:25]:
            frame = video.frame(int(index))
            assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
            assert decode_pattern_index(frame) == index
            assert frame_matches(frame, int(index), WIDTH, HEIGHT)


def test_sequential_access_is_frame_exact_and_decodes_each_frame_once(videos, monkeypatch):
    video = VideoReader(videos["mp4"])
    seeks = []
    original_seek = video._seek
    monkeypatch.setattr(video, "_seek", lambda index: (seeks.append(index), original_seek(index)))
    for index in range(60):
        assert frame_matches(video.frame(index), index, WIDTH, HEIGHT)
    assert len(seeks) == 1  # one seek to start, then decoding forward only


def test_backward_jumps_after_sequential_reading(videos):
    video = VideoReader(videos["mp4"], cache_frames=4)
    for index in [50, 51, 52, 3, 59, 0, 30, 29]:
        assert decode_pattern_index(video.frame(index)) == index


def test_resized_frame_and_time_lookup(videos):
    video = VideoReader(videos["mkv"])
    small = video.frame(7, size=(80, 48))
    assert small.shape == (48, 80, 3)
    assert decode_pattern_index(small) == 7
    assert video.time_of(10) == pytest.approx(0.4)
    assert video.index_at_time(0.4) == 10
    assert video.index_at_time(0.439) == 10
    assert video.index_at_time(-3) == 0 and video.index_at_time(99) == 59
    assert decode_pattern_index(video.frame_at_time(1.0)) == 25
    assert video.duration_s == pytest.approx(2.4)


def test_variable_frame_rate_uses_real_timestamps(tmp_path):
    gaps_ms = [80 if index % 2 == 0 else 40 for index in range(29)]
    times_ms = np.concatenate([[0], np.cumsum(gaps_ms)]).tolist()
    video = VideoReader(make_video(tmp_path / "vfr.mkv", num_frames=30, frame_times_ms=times_ms))
    assert video.num_frames == 30
    for index in range(30):
        assert video.time_of(index) == pytest.approx(times_ms[index] / 1000)
        assert video.index_at_time(times_ms[index] / 1000 + 0.001) == index
    for index in np.random.default_rng(2).permutation(30):
        assert decode_pattern_index(video.frame(int(index))) == index


def test_single_frame_video(tmp_path):
    video = VideoReader(make_video(tmp_path / "one.mp4", num_frames=1))
    assert video.num_frames == 1
    assert frame_matches(video.frame(0), 0, WIDTH, HEIGHT)
    with pytest.raises(IndexError, match="out of range"):
        video.frame(1)


def test_out_of_range_index(videos):
    with pytest.raises(IndexError, match="out of range 0..59"):
        VideoReader(videos["mp4"]).frame(60)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda folder: folder / "absent.mp4", "no such file"),
        (lambda folder: folder, "is a directory"),
        (lambda folder: _write(folder / "empty.mp4", b""), "file is empty"),
        (lambda folder: _write(folder / "notes.mp4", b"these are my notes, not a video\n" * 20), "not a readable media file"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(MediaError, match=message) as raised:
        VideoReader(path)
    assert str(path) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_truncated_mp4_is_reported(videos, tmp_path):
    data = videos["mp4"].read_bytes()
    truncated = _write(tmp_path / "truncated.mp4", data[: len(data) // 2])
    with pytest.raises(MediaError, match=str(truncated)):
        video = VideoReader(truncated)
        for index in range(video.num_frames):
            video.frame(index)


def test_truncated_avi_keeps_the_readable_frames(videos, tmp_path):
    data = videos["avi"].read_bytes()
    truncated = _write(tmp_path / "truncated.avi", data[: int(len(data) * 0.6)])
    video = VideoReader(truncated)
    assert 0 < video.num_frames < 60
    assert frame_matches(video.frame(0), 0, WIDTH, HEIGHT)


def test_audio_only_file_has_no_video_stream(tmp_path):
    audio_only = make_video(tmp_path / "carrier.mkv", num_frames=5, audio=click_track(0.5, 44_100, 0.2))
    target = tmp_path / "audio.wav"
    with av.open(str(audio_only)) as source, av.open(str(target), "w") as sink:
        stream = sink.add_stream("pcm_s16le", rate=44_100, layout="stereo")
        for frame in source.decode(audio=0):
            frame.pts = None
            sink.mux(stream.encode(frame))
        sink.mux(stream.encode(None))
    with pytest.raises(MediaError, match="has no video stream"):
        VideoReader(target)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path



# What a player shows for each display rotation PyAV can store: rotate counter-clockwise, then mirror.
_SHOWN = {
    (90, False, False): lambda picture: np.rot90(picture, 1),
    (-90, False, False): lambda picture: np.rot90(picture, -1),
    (180, False, False): lambda picture: np.rot90(picture, 2),
    (0, True, False): lambda picture: picture[:, ::-1],
    (0, False, True): lambda picture: picture[::-1],
    (90, True, False): lambda picture: np.rot90(picture, 1)[:, ::-1],
    (90, False, True): lambda picture: np.rot90(picture, 1)[::-1],
}


@pytest.mark.parametrize("rotation, hflip, vflip", list(_SHOWN))
def test_rotated_video_is_read_as_shown(tmp_path, rotation, hflip, vflip):
    path = make_video(tmp_path / "phone.mp4", num_frames=6, rotation_deg=rotation, hflip=hflip, vflip=vflip)
    shown = _SHOWN[(rotation, hflip, vflip)]
    expected_size = (HEIGHT, WIDTH) if rotation % 180 else (WIDTH, HEIGHT)
    with VideoReader(path) as video:
        assert video.size == expected_size and video.coded_size == (WIDTH, HEIGHT)
        info = video.info()
        assert (info.width, info.height) == expected_size
        for index in (0, 3, 5):
            frame = video.frame(index)
            expected = shown(pattern_frame(index, WIDTH, HEIGHT)).astype(np.float32)
            assert frame.shape == expected.shape and frame.flags["C_CONTIGUOUS"]
            assert float(np.abs(frame - expected).mean()) < 12.0
        small = video.frame(2, size=(expected_size[0] // 2, expected_size[1] // 2))
        assert small.shape == (expected_size[1] // 2, expected_size[0] // 2, 3)
        halved = shown(pattern_frame(2, WIDTH, HEIGHT))[::2, ::2].astype(np.float32)
        assert float(np.abs(small - halved).mean()) < 20.0


def test_rotation_is_reported():
    assert Orientation(90).describe() == "rotated 90 degrees counter-clockwise"
    assert Orientation(0, mirrored=True).describe() == "mirrored"
    assert Orientation().describe() == "none"


def test_rotation_by_other_angles_is_refused(tmp_path):
    path = make_video(tmp_path / "tilted.mp4", num_frames=2, rotation_deg=30)
    with pytest.raises(MediaError, match=r"turns the picture by 30.0 degrees; only multiples of 90") as raised:
        VideoReader(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("name", ["song.m4a", "song.mp3"])
def test_cover_art_is_not_a_video_stream(tmp_path, name):
    path = make_cover_art_audio(tmp_path / name)
    with av.open(str(path)) as container:  # FFmpeg lists the picture as a one-frame video stream
        assert container.streams.video[0].disposition & av.stream.Disposition.attached_pic
    with pytest.raises(MediaError, match=r"has no video stream \(only an attached picture: cover art\)"):
        VideoReader(path)
    assert read_audio(path).has_audio  # the sound is still there for whoever wants it
