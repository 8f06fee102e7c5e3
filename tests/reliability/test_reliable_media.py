"""Media that exits 0 with wrong output unless handled: rotated phone videos, variable frame rates,
5.1 sound and audio files whose cover art looks like a one-frame video."""

from __future__ import annotations

import json
import os

import av
import numpy as np
import pytest
import torch
from av.sidedata.sidedata import Type as SideDataType
from conftest import assert_rejected, tiny_disk
from media import make_cover_art_audio, make_video, pattern_frame
from PIL import Image

from diffsal.io import VideoReader, probe, read_audio
from diffsal.models import DiffSal, DiffSalConfig

FAST = ["--steps", "1", "--batch-size", "4", "--threads", "1", "--quiet"]
CODED = (192, 112)  # (width, height) of the stored pictures


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The tiny preset cut down further (4-frame clips of 32x64), so predict takes about a second."""
    data = DiffSalConfig.preset("tiny").to_dict()
    data.update(num_frames=4, height=32, width=64)
    torch.manual_seed(0)
    return DiffSal(DiffSalConfig.from_dict(data)).save_pretrained(tmp_path_factory.mktemp("model") / "best")


def _tone(seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def _stereo(seconds: float, rate: int = 44_100) -> np.ndarray:
    return np.stack([_tone(seconds, rate), _tone(seconds, rate)])


# ---------------------------------------------------------------------- rotation
def test_probe_reports_the_shown_size_of_a_rotated_video(tmp_path, cli):
    path = make_video(tmp_path / "portrait.mp4", num_frames=3, size=CODED, rotation_deg=90)
    outcome = cli("probe", path, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    info = json.loads(outcome.stdout)
    assert (info["width"], info["height"]) == (112, 192)
    assert info["rotation_deg"] == 90 and info["mirrored"] is False
    table = cli("probe", path)
    assert "112x192" in table.stdout and "rotated 90 degrees counter-clockwise" in table.stdout


def test_probe_refuses_a_rotation_it_cannot_apply(tmp_path, cli):
    path = make_video(tmp_path / "tilted.mp4", num_frames=2, size=CODED, rotation_deg=45)
    assert_rejected(cli("probe", path), str(path), "45.0 degrees", "only multiples of 90")


def test_predict_on_a_rotated_video_writes_upright_maps_and_overlay(tmp_path, cli, model_dir):
    source = make_video(tmp_path / "portrait.mp4", num_frames=6, fps=5, size=CODED, rotation_deg=90,
                        audio=_stereo(1.2), audio_rate_hz=44_100)
    out = tmp_path / "out"
    outcome = cli("predict", source, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 0, outcome.stderr
    with Image.open(out / "portrait" / "00001.png") as saliency:
        assert saliency.size == (112, 192)
    overlay = out / "portrait" / "overlay.mp4"
    info = probe(overlay)
    assert (info.width, info.height) == (112, 192) and info.rotation_deg == 0
    with av.open(str(overlay)) as container:  # upright pictures, no rotation for a player to apply
        first = next(container.decode(video=0))
        assert SideDataType.DISPLAYMATRIX not in first.side_data
    # The overlay is the source as shown, tinted: closer to the upright frame than to anything else.
    shown = np.rot90(pattern_frame(0, *CODED)).astype(np.float32)
    picture = VideoReader(overlay).frame(0).astype(np.float32)
    assert np.abs(picture - shown).mean() < np.abs(picture - shown[::-1, ::-1]).mean() / 2


# ---------------------------------------------------------------------- variable frame rate
def test_overlay_of_a_variable_rate_video_keeps_its_frame_times(tmp_path, cli, model_dir):
    gaps_ms = [300 if index % 3 == 0 else 100 for index in range(11)]
    times_ms = np.concatenate([[0], np.cumsum(gaps_ms)]).tolist()  # 12 frames in 2.3 s + 0.1 s
    source = make_video(tmp_path / "screen.mkv", num_frames=12, size=(80, 48), frame_times_ms=times_ms,
                        audio=_stereo(2.6), audio_rate_hz=44_100)
    out = tmp_path / "out"
    outcome = cli("predict", source, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 0, outcome.stderr
    with VideoReader(source) as original, VideoReader(out / "screen" / "overlay.mp4") as overlay:
        assert overlay.num_frames == original.num_frames == 12
        tick_s = 1 / 1000  # the mkv's clock
        for index in range(12):
            assert abs(overlay.time_of(index) - original.time_of(index)) <= tick_s, index
        assert overlay.duration_s == pytest.approx(original.duration_s, abs=tick_s)
    audio = probe(out / "screen" / "overlay.mp4").audio
    assert abs(audio.duration_s - original.duration_s) < 0.05


# ---------------------------------------------------------------------- 5.1 sound
def test_overlay_keeps_the_centre_channel_of_five_one_sound(tmp_path, cli, model_dir):
    rate = 48_000
    sound = np.zeros((6, int(1.2 * rate)), np.float32)
    sound[2] = _tone(1.2, rate)  # FC: the dialogue
    source = make_video(tmp_path / "film.mp4", num_frames=6, fps=5, size=(80, 48), audio=sound, audio_rate_hz=rate,
                        audio_layout="5.1")
    out = tmp_path / "out"
    outcome = cli("predict", source, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 0, outcome.stderr
    overlay = out / "film" / "overlay.mp4"
    assert probe(overlay).audio.layout == "5.1" and probe(overlay).audio.channels == 6
    track = read_audio(overlay, sample_rate_hz=None, mono=False)
    loudness = np.sqrt((track.samples[:, rate // 10 : -rate // 10] ** 2).mean(axis=1))
    assert loudness[2] > 0.2 and np.all(np.delete(loudness, 2) < 0.05)
    report = cli("probe", overlay)
    assert "6 channel(s) (5.1)" in report.stdout


# ---------------------------------------------------------------------- cover art
@pytest.mark.parametrize("name", ["song.m4a", "song.mp3"])
def test_probe_refuses_cover_art_as_video(tmp_path, cli, name):
    path = make_cover_art_audio(tmp_path / name)
    assert_rejected(cli("probe", path), str(path), "has no video stream", "cover art")


def test_predict_refuses_cover_art_as_video(tmp_path, cli, model_dir):
    path = make_cover_art_audio(tmp_path / "song.mp4")  # an audio file that a video name does not make a video
    out = tmp_path / "out"
    assert_rejected(cli("predict", path, "--model", model_dir, "--out", out, *FAST), str(path),
                    "has no video stream (only an attached picture: cover art)")
    assert not out.exists()
    folder = tmp_path / "folder"  # in a folder of videos it is one failed video of the batch: exit code 1
    folder.mkdir()
    path.rename(folder / "song.mp4")
    outcome = cli("predict", folder, "--model", model_dir, "--out", out, *FAST)
    assert outcome.exit_code == 1 and "Traceback" not in outcome.stderr
    assert "song: FAILED:" in outcome.stderr and "cover art" in outcome.stderr
    assert not list(out.glob("song/*.png"))


@pytest.mark.parametrize("content", [b"", b"not a video at all", None])
def test_one_unreadable_video_is_bad_input(tmp_path, cli, model_dir, content):
    path = tmp_path / "clip.mp4"
    if content is None:  # truncated: the first kilobyte of a real file
        make_video(tmp_path / "whole.mp4", num_frames=10)
        content = (tmp_path / "whole.mp4").read_bytes()[:1024]
    path.write_bytes(content)
    out = tmp_path / "out"
    assert_rejected(cli("predict", path, "--model", model_dir, "--out", out, *FAST), str(path))
    assert_rejected(cli("probe", path), str(path))
    assert not out.exists()


def test_probe_names_a_symlink_loop(tmp_path, cli):
    os.symlink(tmp_path / "b.mp4", tmp_path / "a.mp4")
    os.symlink(tmp_path / "a.mp4", tmp_path / "b.mp4")
    assert_rejected(cli("probe", tmp_path / "a.mp4"), "symbolic link loop")


def test_a_full_disk_stops_predict_and_prepare_with_one_line_and_no_partial_output(tmp_path, cli, model_dir):
    video = make_video(tmp_path / "clip.mp4", num_frames=40, size=(160, 96))
    with tiny_disk(tmp_path / "disk", "40k") as disk:
        outcome = cli("predict", video, "--model", model_dir, "--out", disk / "p", *FAST)
        assert_rejected(outcome, str(disk / "p"), "No space left on device")
        assert not [path for path in (disk / "p").rglob("*") if path.name.startswith(".")]
        outcome = cli("prepare", video, "--out", disk / "q")
        assert_rejected(outcome, str(disk / "q"), "No space left on device")
        assert not list((disk / "q").rglob(".*partial*"))
