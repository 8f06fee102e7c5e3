import numpy as np
import pytest
import torch
from PIL import Image

from diffsal.data.layout import STAVIS_FRAME_PATTERN
from diffsal.errors import MediaError
from diffsal.io import ClipReader, FrameFolder, FrameGeometry, VideoReader, clip_indices
from diffsal.models.preprocessing import KINETICS_MEAN, KINETICS_STD, FrameTransform
from media import decode_pattern_index, make_video, pattern_frame


def _to_uint8(clip_frames: torch.Tensor, slot: int) -> np.ndarray:
    mean = torch.tensor(KINETICS_MEAN).view(3, 1, 1)
    std = torch.tensor(KINETICS_STD).view(3, 1, 1)
    rgb = (clip_frames[:, slot] * std + mean).clamp(0, 1) * 255
    return rgb.round().byte().permute(1, 2, 0).numpy()


@pytest.mark.parametrize(
    "centre, num_frames, length, expected, before, after",
    [
        (10, 30, 4, [8, 9, 10, 11], 0, 0),
        (0, 30, 4, [0, 0, 0, 1], 2, 0),
        (29, 30, 4, [27, 28, 29, 29], 0, 1),
        (0, 1, 5, [0, 0, 0, 0, 0], 2, 2),
        (8, 100, 16, list(range(0, 16)), 0, 0),
    ],
)
def test_clip_indices_repeat_edge_frames(centre, num_frames, length, expected, before, after):
    indices, pad_before, pad_after = clip_indices(centre, num_frames, length)
    assert indices == expected
    assert (pad_before, pad_after) == (before, after)
    assert indices[length // 2] == centre


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("clip") / "v.mp4", num_frames=40, size=(320, 180))


def test_clip_shape_normalisation_and_content(video):
    reader = ClipReader(VideoReader(video), clip_length=8, transform=FrameTransform((112, 192)))
    clip = reader.clip(20)
    assert clip.frames.shape == (3, 8, 112, 192) and clip.frames.dtype == torch.float32
    assert clip.indices == list(range(16, 24)) and clip.centre == 20 and not clip.padded
    for slot, index in enumerate(clip.indices):
        assert decode_pattern_index(_to_uint8(clip.frames, slot)) == index
    # Normalised with the Kinetics statistics: black maps to -mean/std, white to (1-mean)/std.
    assert clip.frames.min() >= (0 - 0.45) / 0.225 - 1e-4
    assert clip.frames.max() <= (1 - 0.45) / 0.225 + 1e-4


def test_sliding_window_matches_random_access(video):
    sliding = ClipReader(VideoReader(video), clip_length=6, transform=FrameTransform((56, 96)))
    fresh_clips = [ClipReader(VideoReader(video), clip_length=6, transform=FrameTransform((56, 96))).clip(c).frames
                   for c in (0, 17, 39)]
    sliding_clips = {centre: sliding.clip(centre).frames for centre in range(40)}
    for centre, fresh in zip((0, 17, 39), fresh_clips):
        assert torch.equal(sliding_clips[centre], fresh)


def test_edge_clips_report_padding(video):
    reader = ClipReader(VideoReader(video), clip_length=16, transform=FrameTransform((56, 96)))
    first, last = reader.clip(0), reader.clip(39)
    assert (first.pad_before, first.pad_after) == (8, 0)
    assert (last.pad_before, last.pad_after) == (0, 7)
    assert torch.equal(first.frames[:, 0], first.frames[:, 8])
    assert torch.equal(last.frames[:, -1], last.frames[:, 8])


def test_clip_at_time(video):
    assert ClipReader(VideoReader(video), clip_length=4, transform=FrameTransform((56, 96))).clip_at_time(0.5).centre == 12


def test_letterbox_keeps_aspect_and_maps_back():
    geometry = FrameGeometry.fit((640, 360), (224, 384), "letterbox")
    left, top, width, height = geometry.content
    assert (width, height) == (384, 216) and (left, top) == (0, 4)
    clip_map = torch.zeros(224, 384)
    clip_map[top : top + height, left : left + width] = 1.0
    back = geometry.to_source(clip_map)
    assert back.shape == (360, 640)
    assert torch.allclose(back, torch.ones(360, 640))
    with pytest.raises(ValueError, match="resize mode"):
        FrameGeometry.fit((640, 360), (224, 384), "crop")


def test_letterboxed_clip_has_black_bars(video):
    reader = ClipReader(VideoReader(video), clip_length=2, transform=FrameTransform((112, 112)), resize_mode="letterbox")
    clip = reader.clip(5)
    top = clip.geometry.content[1]
    assert top > 0
    black = (0 - 0.45) / 0.225
    assert torch.allclose(clip.frames[:, :, :top], torch.full_like(clip.frames[:, :, :top], black))


def _frame_folder(folder, count, size=(120, 72)):
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.fromarray(pattern_frame(index, *size)).save(folder / f"img_{index + 1:05d}.jpg", quality=95)
    return folder


def test_frame_folder_reads_stavis_frames(tmp_path):
    frames = FrameFolder(_frame_folder(tmp_path / "v", 12), fps=30, pattern=STAVIS_FRAME_PATTERN)
    assert frames.num_frames == 12 and frames.size == (120, 72) and frames.fps == 30
    assert frames.time_of(6) == pytest.approx(0.2) and frames.index_at_time(0.2) == 6
    assert decode_pattern_index(frames.frame(11)) == 11
    clip = ClipReader(frames, clip_length=4, transform=FrameTransform((48, 80))).clip(11)
    assert clip.indices == [9, 10, 11, 11] and clip.pad_after == 1
    assert decode_pattern_index(_to_uint8(clip.frames, 1)) == 10


def test_frame_folder_errors_name_the_path(tmp_path):
    with pytest.raises(MediaError, match="frame folder missing"):
        FrameFolder(tmp_path / "absent", fps=25, pattern=STAVIS_FRAME_PATTERN)
    folder = _frame_folder(tmp_path / "v", 5)
    with pytest.raises(MediaError, match="frame rate must be positive"):
        FrameFolder(folder, fps=0, pattern=STAVIS_FRAME_PATTERN)
    (folder / "img_00003.jpg").unlink()
    with pytest.raises(MediaError, match="img_00003.jpg: frame missing"):
        FrameFolder(folder, fps=25, pattern=STAVIS_FRAME_PATTERN)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MediaError, match="no frames named like img_00001.jpg"):
        FrameFolder(empty, fps=25, pattern=STAVIS_FRAME_PATTERN)


def test_corrupt_jpeg_names_the_file(tmp_path):
    folder = _frame_folder(tmp_path / "v", 3)
    (folder / "img_00002.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    frames = FrameFolder(folder, fps=25, pattern=STAVIS_FRAME_PATTERN)
    frames.frame(0)
    with pytest.raises(MediaError, match="img_00002.jpg: corrupt or unreadable image"):
        frames.frame(1)


def test_letterboxed_clip_of_a_rotated_video_is_upright(tmp_path):
    """A portrait phone video (stored 180x320 landscape + rotate 90) fits as portrait: bars left and right."""
    path = make_video(tmp_path / "phone.mp4", num_frames=4, size=(320, 180), rotation_deg=90)
    reader = ClipReader(VideoReader(path), clip_length=2, transform=FrameTransform((112, 112)), resize_mode="letterbox")
    clip = reader.clip(1)
    left, top, width, height = clip.geometry.content
    assert clip.geometry.source_size == (180, 320) and top == 0 and left > 0 and height == 112
    content = _to_uint8(clip.frames, 1)[:, left : left + width].astype(np.float32)
    upright = np.asarray(Image.fromarray(np.rot90(pattern_frame(1, 320, 180)).copy()).resize((width, height)))
    assert float(np.abs(content - upright).mean()) < 20.0
