import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import torch
from PIL import Image
from torch.utils.data import DataLoader

from diffsal.data import AVSaliencyDataset, DHF1KDataset, clip_centres, validation_videos
from diffsal.data.annotations import write_fixation_mat, write_saliency_map
from diffsal.data.targets import resize_fixations
from diffsal.errors import InputError, MediaError
from diffsal.io.clip import FrameGeometry
from diffsal.models.preprocessing import KINETICS_MEAN, KINETICS_STD, diffsal_preprocessing
from media import decode_pattern_index, make_video, pattern_frame

FPS = 10.0
WIDTH, HEIGHT = 64, 48
MARKED = 17  # the frame with the white marker and the click
WAV_RATE_HZ = 44_100  # not 16 kHz: windows must be cut in seconds, after resampling


def _write_video(root: Path, db: str, name: str, num_frames: int, marker: int | None = None, click_s: float | None = None) -> None:
    frames = root / "video_frames" / db / name
    annotations = root / "annotations" / db / name
    (annotations / "maps").mkdir(parents=True)
    frames.mkdir(parents=True)
    for index in range(num_frames):
        image = np.full((HEIGHT, WIDTH, 3), 60, np.uint8)
        if index == marker:
            image[8:24, 8:24] = 255
        Image.fromarray(image).save(frames / f"img_{index + 1:05d}.jpg", quality=95)
        # The fixation's column encodes the frame index; the map is a blob around it.
        fixations = np.zeros((HEIGHT, WIDTH), np.uint8)
        fixations[30, index] = 1
        write_fixation_mat(annotations / f"fixMap_{index + 1:05d}.mat", fixations)
        saliency = np.zeros((HEIGHT, WIDTH), np.float32)
        saliency[26:35, max(index - 4, 0) : index + 5] = 1.0
        write_saliency_map(annotations / "maps" / f"eyeMap_{index + 1:05d}.jpg", saliency)
    samples = np.zeros((int(num_frames / FPS * WAV_RATE_HZ), 2), np.int16)
    if click_s is not None:
        samples[int(round(click_s * WAV_RATE_HZ))] = 30000
    wav = root / "video_audio" / db / name / f"{name}.wav"
    wav.parent.mkdir(parents=True)
    scipy.io.wavfile.write(wav, WAV_RATE_HZ, samples)


def _write_lists(root: Path, db: str, train: dict[str, int], test: dict[str, int], fps: float = FPS) -> None:
    lists = root / "fold_lists"
    lists.mkdir(parents=True, exist_ok=True)
    for split in (1, 2, 3):
        for part, videos in (("train", train), ("test", test)):
            text = "".join(f"{name} {frames} {fps:g}\n" for name, frames in videos.items())
            (lists / f"{db}_list_{part}_{split}_fps.txt").write_text(text)


@pytest.fixture(scope="module")
def marker_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stavis")
    _write_video(root, "Marker", "marked", 30, marker=MARKED, click_s=MARKED / FPS)
    for index in range(5):
        _write_video(root, "Marker", f"train{index}", 8)
    _write_lists(root, "Marker", {f"train{index}": 8 for index in range(5)}, {"marked": 30})
    return root


def _dataset(root: Path, part: str = "test", **kwargs) -> AVSaliencyDataset:
    options = dict(clip_length=8, preprocessing=diffsal_preprocessing((HEIGHT, WIDTH), 0.5))
    options.update(kwargs)
    return AVSaliencyDataset(root, "Marker", 1, part, **options)


def _marker_slots(frames: torch.Tensor) -> list[int]:
    """Clip slots (of `(3, T, H, W)`) showing the white marker."""
    patch = frames[:, :, 8:24, 8:24].mean(dim=(0, 2, 3))  # (T,)
    return [int(slot) for slot in torch.nonzero(patch > 2.0).flatten()]


def _click_offset_s(audio: torch.Tensor) -> float:
    """Time of the click relative to the window centre."""
    return (int(torch.argmax(audio.abs())) - len(audio) / 2) / 16_000


def test_marker_and_click_land_in_the_clip_whose_target_is_frame_k(marker_root):
    dataset = _dataset(marker_root)
    assert len(dataset) == 30  # dense: every frame is a target
    item = dataset[MARKED]
    assert item["frame"] == MARKED
    assert _marker_slots(item["frames"]) == [8 // 2]
    assert abs(_click_offset_s(item["audio"])) < 0.001
    assert item["has_audio"] is True
    assert torch.nonzero(item["fixations"][0]).tolist() == [[30, MARKED]]
    assert item["target"][0, 30, MARKED] > 0.9 and item["target"][0, 30, MARKED + 8] < 0.05
    neighbour = dataset[MARKED + 1]
    assert _marker_slots(neighbour["frames"]) == [8 // 2 - 1]
    assert _click_offset_s(neighbour["audio"]) == pytest.approx(-1 / FPS, abs=0.001)
    shifted = _dataset(marker_root, audio_offset_s=0.2)[MARKED]
    assert _click_offset_s(shifted["audio"]) == pytest.approx(-0.2, abs=0.001)


@pytest.mark.parametrize("frames_out", [4, 8])
def test_k_targets_are_the_central_slots_clamped_to_the_video(marker_root, frames_out):
    dataset = _dataset(marker_root, frames_out=frames_out)
    for frame in (0, 1, MARKED, 29):
        item = dataset[frame]
        assert item["target"].shape == item["fixations"].shape == (frames_out, HEIGHT, WIDTH)
        # The fixation's column encodes its frame: map k is frame `frame - K // 2 + k`, clamped to 0..29.
        columns = [torch.nonzero(item["fixations"][k])[:, 1].tolist() for k in range(frames_out)]
        expected = [[min(max(frame - frames_out // 2 + k, 0), 29)] for k in range(frames_out)]
        assert columns == expected
    # The clip's slot of map k shows map k's frame: slot T // 2 - K // 2 + k.
    item = dataset[MARKED + 1]
    assert _marker_slots(item["frames"]) == [8 // 2 - 1]
    assert torch.nonzero(item["fixations"][frames_out // 2 - 1])[:, 1].tolist() == [MARKED]


def test_a_dataloader_with_two_workers_keeps_the_alignment(marker_root):
    dataset = _dataset(marker_root)
    loader = DataLoader(dataset, batch_size=4, num_workers=2, shuffle=False)
    seen = 0
    for batch in loader:
        assert batch["frames"].shape[1:] == (3, 8, HEIGHT, WIDTH)
        assert batch["audio"].shape[1:] == (8000,)
        assert batch["original_size"].tolist()[0] == [HEIGHT, WIDTH]
        for row, frame in enumerate(batch["frame"].tolist()):
            assert torch.nonzero(batch["fixations"][row, 0])[:, 1].tolist() == [frame]
            slot = 8 // 2 + MARKED - frame
            expected = [slot] if 0 <= slot < 8 else []
            assert _marker_slots(batch["frames"][row]) == expected
        assert batch["video"] == ["marked"] * len(batch["frame"])
        seen += len(batch["frame"])
    assert seen == 30


def test_item_contents_and_types(marker_root):
    item = _dataset(marker_root)[0]
    assert item["frames"].dtype == torch.float32 and item["frames"].shape == (3, 8, HEIGHT, WIDTH)
    assert item["audio"].dtype == torch.float32 and item["audio"].shape == (8000,)
    assert item["target"].shape == item["fixations"].shape == (1, HEIGHT, WIDTH)
    assert set(torch.unique(item["fixations"]).tolist()) == {0.0, 1.0}
    assert (item["dataset"], item["video"], item["fps"], item["num_frames"]) == ("Marker", "marked", FPS, 30)
    # Frame 0: the clip repeats the first frame before the target slot (edge padding).
    grey = (60 / 255 - KINETICS_MEAN[0]) / KINETICS_STD[0]
    assert torch.allclose(item["frames"][:, :4], torch.full_like(item["frames"][:, :4], grey), atol=0.1)
    # The window before t = 0 is silence.
    assert item["audio"][:4000].abs().max() == 0


def test_pickles_without_open_readers(marker_root):
    dataset = _dataset(marker_root)
    dataset[3]
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy._readers == {} and torch.equal(copy[3]["frames"], dataset[3]["frames"])


def test_training_sampling_one_clip_per_stride_and_random_offsets(marker_root):
    assert clip_centres(200, "sparse", 74).tolist() == [37, 111, 185]
    assert clip_centres(30, "sparse", 74).tolist() == [14]
    assert clip_centres(5, "dense").tolist() == [0, 1, 2, 3, 4]
    dataset = _dataset(marker_root, part="train", validation_fraction=0.0, stride=3)
    assert dataset.sampling == "sparse" and len(dataset) == 5 * 3  # targets 1, 4, 7 of 8 frames
    jittered = _dataset(marker_root, part="train", validation_fraction=0.0, stride=4, random_offset=True, seed=1)
    offsets = set()
    for epoch in range(6):
        jittered.set_epoch(epoch)
        offsets.add(tuple(jittered._samples[:, 1].tolist()))
    assert len(offsets) > 1


def test_validation_videos_come_from_the_training_list_only(marker_root):
    train = _dataset(marker_root, part="train", validation_fraction=0.4, validation_seed=3)
    val = _dataset(marker_root, part="val", validation_fraction=0.4, validation_seed=3)
    test = _dataset(marker_root, part="test")
    assert len(val.videos) == 2
    assert set(train.videos) | set(val.videos) == {f"train{index}" for index in range(5)}
    assert not set(train.videos) & set(val.videos)
    assert not set(val.videos) & set(test.videos)
    assert val.videos == _dataset(marker_root, part="val", validation_fraction=0.4, validation_seed=3).videos
    picks = {tuple(validation_videos([f"v{i}" for i in range(20)], 0.1, seed)) for seed in range(10)}
    assert len(picks) > 1 and all(len(pick) == 2 for pick in picks)
    assert validation_videos(["b", "a", "c"], 0.34, 0) == validation_videos(["c", "a", "b"], 0.34, 0)


def test_resized_fixations_are_all_kept():
    fixations = np.zeros((360, 640), bool)
    fixations[[0, 10, 11, 359], [0, 300, 301, 639]] = True
    resized = resize_fixations(fixations, FrameGeometry.fit((640, 360), (36, 64), "stretch"))
    assert resized.sum() == 3 and resized[0, 0] == resized[35, 63] == 1  # two neighbours merge


def test_optional_and_absent_audio(marker_root, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(marker_root, root)
    shutil.rmtree(root / "video_audio" / "Marker" / "marked")
    item = _dataset(root, audio="optional")[MARKED]
    assert item["has_audio"] is False and item["audio"].abs().max() == 0
    assert _dataset(marker_root, audio="none")[MARKED]["has_audio"] is False


# --------------------------------------------------------------------------- bad data
def _break(root: Path, problem: str) -> Path:
    """Break the `marked` video of a copy; returns the path the error must name."""
    video = "marked"
    if problem == "missing frames folder":
        path = root / "video_frames" / "Marker" / video
        shutil.rmtree(path)
    elif problem == "missing wav":
        path = root / "video_audio" / "Marker" / video / f"{video}.wav"
        path.unlink()
    elif problem == "missing maps":
        path = root / "annotations" / "Marker" / video / "maps"
        shutil.rmtree(path)
    elif problem == "unknown video in fold list":
        path = root / "video_frames" / "Marker" / "ghost"
        (root / "fold_lists" / "Marker_list_test_1_fps.txt").write_text("marked 30 10\nghost 12 10\n")
    elif problem == "fps of 0":
        path = root / "fold_lists" / "Marker_list_test_1_fps.txt"
        path.write_text("ghost 12 0\nmarked 30 10\n")
    elif problem == "missing frame":
        path = root / "video_frames" / "Marker" / video / "img_00011.jpg"
        path.unlink()
    else:
        raise AssertionError(problem)
    return path


PROBLEMS = ["missing frames folder", "missing wav", "missing maps", "unknown video in fold list", "fps of 0", "missing frame"]


@pytest.mark.parametrize("problem", PROBLEMS)
def test_bad_data_raises_an_error_naming_the_path(marker_root, tmp_path, problem):
    root = tmp_path / "root"
    shutil.copytree(marker_root, root)
    path = _break(root, problem)
    with pytest.raises(InputError) as raised:
        _dataset(root)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_skip_bad_leaves_the_video_out_and_reports_it(marker_root, tmp_path, problem):
    root = tmp_path / "root"
    shutil.copytree(marker_root, root)
    path = _break(root, problem)
    if problem != "fps of 0" and problem != "unknown video in fold list":
        _write_lists(root, "Marker", {}, {"marked": 30, "train0": 8})
    with pytest.warns(UserWarning, match="skipped 1 video"):
        dataset = _dataset(root, skip_bad=True)
    assert len(dataset.skipped) == 1 and str(path) in dataset.skipped[0]
    assert "marked" in dataset.videos or "train0" in dataset.videos


def test_corrupt_jpeg_fails_when_read_naming_the_file(marker_root, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(marker_root, root)
    corrupt = root / "video_frames" / "Marker" / "marked" / f"img_{MARKED + 1:05d}.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    dataset = _dataset(root)
    dataset[0]
    with pytest.raises(MediaError, match=str(corrupt)):
        dataset[MARKED]


# --------------------------------------------------------------------------- DHF1K
def _dhf1k_maps(folder: Path, num_frames: int) -> None:
    (folder / "maps").mkdir(parents=True)
    (folder / "fixation").mkdir(parents=True)
    for index in range(num_frames):
        fixations = np.zeros((48, 80), np.uint8)
        fixations[10, index] = 255
        Image.fromarray(fixations).save(folder / "fixation" / f"{index + 1:04d}.png")
        write_saliency_map(folder / "maps" / f"{index + 1:04d}.png", fixations / 255.0)


def test_dhf1k_official_layout_decodes_the_avi_frame_exactly(tmp_path):
    (tmp_path / "video").mkdir()
    make_video(tmp_path / "video" / "601.avi", num_frames=12, fps=30, size=(80, 48))
    make_video(tmp_path / "video" / "002.avi", num_frames=12, fps=30, size=(80, 48))
    _dhf1k_maps(tmp_path / "annotation" / "0601", 12)
    dataset = DHF1KDataset(tmp_path, "val", clip_length=4, preprocessing=diffsal_preprocessing((48, 80)))
    assert dataset.videos == ["0601"] and len(dataset) == 12
    item = dataset[7]
    centre = item["frames"][:, 2].permute(1, 2, 0) * torch.tensor(KINETICS_STD) + torch.tensor(KINETICS_MEAN)
    assert decode_pattern_index((centre.clamp(0, 1) * 255).byte().numpy()) == 7
    assert item["has_audio"] is False and item["audio"].abs().max() == 0
    assert torch.nonzero(item["fixations"][0]).tolist() == [[10, 7]]
    assert item["original_size"].tolist() == [48, 80]


def test_dhf1k_extracted_layout(tmp_path):
    folder = tmp_path / "train" / "0003"
    (folder / "images").mkdir(parents=True)
    for index in range(6):
        Image.fromarray(pattern_frame(index, 80, 48)).save(folder / "images" / f"{index + 1:04d}.png")
    _dhf1k_maps(folder, 6)
    dataset = DHF1KDataset(tmp_path, "train", clip_length=4, preprocessing=diffsal_preprocessing((48, 80)),
                           sampling="dense")
    item = dataset[4]
    assert torch.nonzero(item["fixations"][0]).tolist() == [[10, 4]]
    shutil.rmtree(folder / "maps")
    with pytest.raises(InputError, match=str(folder / "maps")):
        DHF1KDataset(tmp_path, "train")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match="no usable"):
            DHF1KDataset(tmp_path, "train", skip_bad=True)


def test_diem_has_one_split_whatever_split_is_asked(tmp_path):
    _write_video(tmp_path, "DIEM", "clip_a", 6)
    _write_video(tmp_path, "DIEM", "clip_b", 6)
    (tmp_path / "fold_lists").mkdir()
    (tmp_path / "fold_lists" / "DIEM_list_train_fps.txt").write_text("clip_a 6 30")
    (tmp_path / "fold_lists" / "DIEM_list_test_fps.txt").write_text("\nclip_b 6 30\n\n")
    for split in (1, 3):
        dataset = AVSaliencyDataset(tmp_path, "DIEM", split, "test", clip_length=4,
                                    preprocessing=diffsal_preprocessing((HEIGHT, WIDTH)))
        assert dataset.videos == ["clip_b"] and dataset[0]["fps"] == 30.0
    assert AVSaliencyDataset(tmp_path, ["DIEM"], 2, "train", validation_fraction=0.1).videos == ["clip_a"]


def test_one_index_gives_typed_records_and_the_problems(marker_root, tmp_path):
    from diffsal.data import index_dataset

    index = index_dataset(marker_root, "Marker", "all", "test")
    assert index.problems == [] and index.skipped == []
    (record,) = index.records
    assert (record.dataset, record.video, record.num_frames, record.fps, record.splits) == ("Marker", "marked", 30, FPS, (1, 2, 3))
    assert record.audio == record.wav and Path(record.wav).is_file()
    assert record.map_path(0).is_file() and record.fixation_path(29).is_file()
    train = index_dataset(marker_root, "Marker", 1, "train", validation_fraction=0.0).records
    assert sorted(r.video for r in train) == [f"train{index}" for index in range(5)]
    broken = tmp_path / "broken"
    shutil.copytree(marker_root, broken)
    (broken / "video_audio" / "Marker" / "marked" / "marked.wav").unlink()
    index = index_dataset(broken, "Marker", 1, "test")
    assert index.records == [] and "marked.wav: wav" in index.skipped[0]
    (record,) = index_dataset(broken, "Marker", 1, "test", audio="optional").records
    assert record.audio is None and record.wav.endswith("marked.wav")


def test_clip_dataset_from_records_a_sampler_and_a_transform(marker_root):
    from diffsal.data import ClipDataset, ClipSampler, index_dataset

    preprocessing = diffsal_preprocessing((HEIGHT, WIDTH), 0.5)
    dataset = ClipDataset(index_dataset(marker_root, "Marker", 1, "test").records, ClipSampler.sparse(stride=10),
                          lambda item: {**item, "tag": item["frame"] * 2}, clip_length=8, preprocessing=preprocessing)
    assert dataset.sampling == "sparse" and dataset.stride == 10
    assert dataset._samples[:, 1].tolist() == [5, 15, 25]
    assert dataset[1]["tag"] == 30
    factory = _dataset(marker_root, sampling="sparse", stride=10)
    assert factory._samples.tolist() == dataset._samples.tolist()
