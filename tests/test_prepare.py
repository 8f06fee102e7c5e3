import numpy as np
import pytest
import scipy.io.wavfile
import torch
from media import click_track, decode_pattern_index, make_video
from PIL import Image

from diffsal.cli import main
from diffsal.data import AVSaliencyDataset, read_fold_list
from diffsal.data.prepare import prepare_videos
from diffsal.models.preprocessing import (
    KINETICS_MEAN,
    KINETICS_STD,
    diffsal_preprocessing,
)

CLICK_S = 0.84  # frame 21 at 25 fps


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    make_video(folder / "talk show.mp4", num_frames=40, fps=25, size=(96, 64), audio=click_track(1.6, 44_100, CLICK_S))
    make_video(folder / "silent.mp4", num_frames=10, fps=25, size=(96, 64))
    (folder / "notes.txt").write_text("not a video")
    return folder


def _item(dataset, video, frame):
    records = [record.video for record in dataset.records]
    for index, (record_index, target) in enumerate(dataset._samples.tolist()):
        if records[record_index] == video and target == frame:
            return dataset[index]
    raise AssertionError(f"no clip of {video} frame {frame}")


def test_prepare_writes_the_stavis_layout_aligned_on_the_video_clock(videos, tmp_path):
    root = tmp_path / "prepared"
    assert main(["prepare", str(videos), "--out", str(root), "--db", "Mine"]) == 0
    frames = root / "video_frames" / "Mine" / "talk_show"
    assert len(list(frames.glob("img_*.jpg"))) == 40
    assert decode_pattern_index(np.asarray(Image.open(frames / "img_00022.jpg"))) == 21
    rate, samples = scipy.io.wavfile.read(root / "video_audio" / "Mine" / "talk_show" / "talk_show.wav")
    assert rate == 16_000 and samples.ndim == 1
    assert abs(np.argmax(np.abs(samples)) / rate - CLICK_S) < 0.002
    assert not (root / "video_audio" / "Mine" / "silent").exists()
    entries = {entry.video: entry for entry in read_fold_list(root / "fold_lists" / "Mine_list_test_1_fps.txt")}
    assert (entries["talk_show"].num_frames, entries["talk_show"].fps) == (40, 25.0)
    assert entries["silent"].num_frames == 10

    dataset = AVSaliencyDataset(root, "Mine", 1, "test", annotations=False, audio="optional", clip_length=4,
                                 preprocessing=diffsal_preprocessing((64, 96)))
    assert len(dataset) == 50 and "target" not in dataset[0]
    item = _item(dataset, "talk_show", 21)
    centre = item["frames"][:, 2].permute(1, 2, 0) * torch.tensor(KINETICS_STD) + torch.tensor(KINETICS_MEAN)
    assert decode_pattern_index((centre.clamp(0, 1) * 255).byte().numpy()) == 21
    assert abs((int(item["audio"].abs().argmax()) - len(item["audio"]) / 2) / 16_000) < 0.002
    silent = _item(dataset, "silent", 0)
    assert silent["has_audio"] is False


def test_prepare_reuses_finished_videos_and_keeps_other_list_lines(videos, tmp_path):
    root = tmp_path / "prepared"
    first = prepare_videos([videos / "silent.mp4"], root)
    assert [video.reused for video in first] == [False]
    again = prepare_videos([videos], root)
    assert {video.name: video.reused for video in again} == {"silent": True, "talk_show": False}
    assert read_fold_list(root / "fold_lists" / "User_list_test_1_fps.txt").videos == ["silent", "talk_show"]
    assert not list((root / "video_frames" / "User").glob(".*"))  # no partial folders left
    assert [video.reused for video in prepare_videos([videos / "silent.mp4"], root, overwrite=True)] == [False]


def test_prepare_rejects_bad_inputs(videos, tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "absent"), "--out", str(tmp_path / "o")]) == 2
    assert str(tmp_path / "absent") in capsys.readouterr().err
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    assert main(["prepare", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert str(broken) in capsys.readouterr().err
