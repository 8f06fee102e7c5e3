"""`diffsal reframe`: the whole command on generated videos, cuts in spliced videos, reruns, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from media import tone

from diffsal.cli import main
from diffsal.predictions.map_formats import map_format
from diffsal.predictions.folder import VideoOutput, map_png
from diffsal.io import AudioTrack, VideoReader, read_audio, write_video
from diffsal.reframe import plan_crops
from diffsal.reframe.run import ReframeSettings, find_shots, reframe

WIDTH, HEIGHT, FPS = 96, 54, 12


def run(*args: str | Path) -> int:
    try:
        return main([*map(str, args)])
    except SystemExit as exited:  # argparse errors
        return exited.code


def disc_x(index: int, frames: int) -> float:
    return WIDTH * (0.15 + 0.7 * index / max(1, frames - 1))


def make_clip(path: Path, frames: int = 36) -> Path:
    """A disc moving left to right over a gradient, with a stereo tone."""
    x = np.arange(WIDTH)[None, :]
    y = np.arange(HEIGHT)[:, None]

    def pictures():
        for index in range(frames):
            frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
            frame[..., 2] = (x * 255 // WIDTH).astype(np.uint8)
            frame[(x - disc_x(index, frames)) ** 2 + (y - HEIGHT / 2) ** 2 < 36] = (250, 30, 30)
            yield frame

    sound = AudioTrack(np.stack([tone(frames / FPS, 44_100, 440)] * 2), 44_100)
    write_video(path, pictures(), FPS, sound)
    return path


def write_maps(root: Path, video: Path, centres_x: list[float], format_name: str = "png") -> Path:
    """A `diffsal predict`-style output whose map of frame k is a blob at `centres_x[k]`."""
    output = VideoOutput(root, video.stem, map_format(format_name))
    output.begin()
    x = np.arange(WIDTH)[None, :]
    y = np.arange(HEIGHT)[:, None]
    levels = [map_png(np.exp(-((x - cx) ** 2 + (y - HEIGHT / 2) ** 2) / 40.0), "minmax") for cx in centres_x]
    if output.map_format.video_name is not None:
        from diffsal.io.writer import write_gray_video

        write_gray_video(output.built_path(output.map_format.video_name), levels, FPS)
    else:
        for index, level in enumerate(levels):
            output.write_map(index, level)
    output.finish({"video": video.stem, "input": str(video), "frames": len(centres_x),
                   "size": {"width": WIDTH, "height": HEIGHT}, "signature": {"test": True},
                   "files": {"map_format": format_name, "videos": []}})
    return output.path


@pytest.fixture
def clip(tmp_path) -> Path:
    return make_clip(tmp_path / "clip.mp4")


@pytest.fixture
def maps(tmp_path, clip) -> Path:
    return write_maps(tmp_path / "predictions", clip, [disc_x(index, 36) for index in range(36)])


def test_reframe_follows_the_salient_object_and_writes_every_file(tmp_path, clip, maps, capsys):
    out = tmp_path / "out" / "portrait.mp4"
    assert run("reframe", clip, "--maps", maps, "--aspect", "9:16", "--out", out, "--preview") == 0
    assert "36 frames, window 30x54 of 96x54" in capsys.readouterr().out
    document = json.loads(out.with_suffix(".crop_path.json").read_text())
    assert document["status"] == "complete" and document["window_size"] == {"width": 30, "height": 54}
    windows = np.array(document["windows"])
    assert windows.shape == (36, 2) and (windows[:, 1] == 0).all()
    assert (windows[:, 0] >= 0).all() and (windows[:, 0] <= WIDTH - 30).all()
    inside = [x <= disc_x(index, 36) <= x + 30 for index, (x, _) in enumerate(windows)]
    assert np.mean(inside) >= 0.95
    assert windows[-1, 0] > windows[0, 0] + 30  # it panned with the object
    with VideoReader(out) as cropped, VideoReader(clip) as original:
        assert cropped.num_frames == 36 and cropped.size == (30, 54) and cropped.fps == pytest.approx(FPS)
        frame = 17
        x = int(windows[frame, 0])
        expected = original.frame(frame)[:, x : x + 30].astype(float)
        assert np.abs(cropped.frame(frame).astype(float) - expected).mean() < 8  # H.264 of the same pixels
    sound = read_audio(out, None, mono=False)
    assert sound.has_audio and sound.samples.shape[0] == 2
    assert abs(sound.samples.shape[1] / sound.sample_rate_hz - 36 / FPS) < 0.05
    with VideoReader(out.with_suffix(".preview.mp4")) as preview:
        assert preview.num_frames == 36
    for path in ("window", "per_frame_optimum"):
        assert set(document["quality"][path]) == {"mean_abs_velocity", "mean_abs_acceleration", "mean_abs_jerk"}
    assert document["quality"]["window"]["mean_abs_velocity"] > 1  # ~1.9 px per frame, as the object


@pytest.mark.parametrize("format_name", ["stavis", "mp4", "challenge"])
def test_reframe_reads_every_map_format(tmp_path, clip, format_name):
    write_maps(tmp_path / format_name, clip, [disc_x(index, 36) for index in range(36)], format_name)
    result = reframe(clip, tmp_path / f"{format_name}.mp4", ReframeSettings("1:1"), maps=tmp_path / format_name)
    assert result.plan.window_size == (54, 54) and result.status == "done"


def test_a_rerun_keeps_complete_work_and_refuses_other_settings(tmp_path, clip, maps, capsys):
    out = tmp_path / "portrait.mp4"
    assert run("reframe", clip, "--maps", maps, "--out", out, "--quiet") == 0
    stamp = out.stat().st_mtime_ns
    assert run("reframe", clip, "--maps", maps, "--out", out) == 0
    assert "already complete" in capsys.readouterr().out and out.stat().st_mtime_ns == stamp
    assert run("reframe", clip, "--maps", maps, "--out", out, "--aspect", "1:1", "--quiet") == 2
    error = capsys.readouterr().err
    assert "other settings (aspect)" in error and "--overwrite" in error and out.stat().st_mtime_ns == stamp
    assert run("reframe", clip, "--maps", maps, "--out", out, "--aspect", "1:1", "--overwrite", "--quiet") == 0
    assert json.loads(out.with_suffix(".crop_path.json").read_text())["window_size"]["width"] == 54


def test_an_interrupted_reframing_is_done_again(tmp_path, clip, maps):
    out = tmp_path / "portrait.mp4"
    first = reframe(clip, out, maps=maps)
    document = json.loads(first.files.crop_path.read_text())
    first.files.crop_path.write_text(json.dumps({"format": document["format"], "status": "writing",
                                                 "signature": document["signature"]}))
    assert reframe(clip, out, maps=maps).status == "done"
    out.unlink()  # ours, a file deleted since: done again
    assert reframe(clip, out, maps=maps).status == "done" and out.is_file()


def test_files_diffsal_did_not_write_are_never_replaced(tmp_path, clip, maps, capsys):
    out = tmp_path / "mine.mp4"
    out.write_bytes(b"the user's own video")
    for extra in ([], ["--overwrite"]):
        assert run("reframe", clip, "--maps", maps, "--out", out, "--quiet", *extra) == 2
        assert "not written by diffsal reframe" in capsys.readouterr().err
    assert out.read_bytes() == b"the user's own video" and not out.with_suffix(".crop_path.json").exists()


@pytest.mark.parametrize("change,message", [
    (["--aspect", "9-16"], "aspect"),
    (["--aspect", "0:16"], "aspect"),
    (["--zoom", "0.5"], "zoom"),
    (["--zoom", "nan"], "finite"),
    (["--motion", "shake"], "invalid choice"),
    (["--out", "{tmp}/x.avi"], ".mp4"),
])
def test_bad_settings_are_one_line_before_any_work(tmp_path, clip, maps, capsys, change, message):
    change = [item.replace("{tmp}", str(tmp_path)) for item in change]
    arguments = ["reframe", clip, "--maps", maps, *change]
    if "--out" not in change:
        arguments += ["--out", tmp_path / "o.mp4"]
    assert run(*arguments) == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1 and "Traceback" not in error
    assert not list(tmp_path.glob("o*")) and not list(tmp_path.glob("x*"))


def test_maps_that_do_not_fit_the_video_are_refused(tmp_path, clip, capsys):
    other = make_clip(tmp_path / "other.mp4", frames=20)
    short = write_maps(tmp_path / "short", clip, [10.0] * 20)  # 20 maps for a 36-frame video
    assert run("reframe", clip, "--maps", short, "--out", tmp_path / "a.mp4") == 2
    assert "holds 20 maps, the video has 36 frames" in capsys.readouterr().err
    assert run("reframe", clip, "--maps", tmp_path / "nowhere", "--out", tmp_path / "b.mp4") == 2
    assert "--maps must be a folder" in capsys.readouterr().err
    assert run("reframe", other, "--maps", write_maps(tmp_path / "p", clip, [10.0] * 36).parent,
               "--out", tmp_path / "c.mp4") == 2
    assert "no complete `diffsal predict` output of other.mp4" in capsys.readouterr().err
    assert run("reframe", clip, "--out", tmp_path / "d.mp4") == 2  # neither --maps nor --model
    resized = write_maps(tmp_path / "resized", clip, [10.0] * 36)
    with Image.open(resized / "00005.png") as image:  # a map changed after `predict` wrote the summary
        image.resize((WIDTH // 2, HEIGHT // 2)).save(resized / "00005.png")
    assert run("reframe", clip, "--maps", resized, "--out", tmp_path / "e.mp4") == 2
    assert f"map 5 is {WIDTH // 2}x{HEIGHT // 2}, the video is {WIDTH}x{HEIGHT}" in capsys.readouterr().err
    assert not list(tmp_path.glob("[abcde].*"))


def test_cuts_are_found_in_a_spliced_video_and_the_path_does_not_pan_across(tmp_path):
    """Two different synthetic benchmark videos joined: one cut, at the splice; each shot's windows are what the
    shot alone gives (no smoothing across the cut), and the window jumps from one side to the other at the cut."""
    root = tmp_path / "synthetic"
    assert run("synth", "--out", root, "--videos", "2", "--seconds", "2", "--size", "96x54", "--fps", "12",
               "--test-fraction", "0.5", "--seed", "3", "--quiet") == 0
    parts = [sorted((root / "videos" / "Synthetic").glob("*.mp4"))[index] for index in range(2)]
    frames = []
    for part in parts:
        with VideoReader(part) as reader:
            frames += [reader.frame(index) for index in range(reader.num_frames)]
    splice = len(frames) // 2
    spliced = tmp_path / "spliced.mp4"
    write_video(spliced, iter(frames), FPS)
    assert find_shots(spliced) == [(0, splice), (splice, len(frames))]

    centres = [15.0] * splice + [80.0] * (len(frames) - splice)  # salient left, then right
    maps = write_maps(tmp_path / "predictions", spliced, centres)
    result = reframe(spliced, tmp_path / "out.mp4", ReframeSettings("9:16", motion="pan"), maps=maps)
    plan = result.plan
    assert plan.shots == [(0, splice), (splice, len(frames))]
    x = plan.positions[:, 0]
    assert x[splice - 1] + 30 < 40 and x[splice] > 60  # the object's side, right up to the cut and from it
    alone = plan_crops(np.stack([np.asarray(level, np.float32) for level in VideoOutput(
        maps.parent, maps.name).maps(splice)]), (WIDTH, HEIGHT), "9:16", motion="pan")
    assert np.array_equal(alone.positions, plan.positions[:splice])


def test_reframe_with_a_model_predicts_the_maps_once(tmp_path, clip, capsys):
    import torch

    from diffsal.models import DiffSal
    from test_predict import micro_config

    torch.manual_seed(0)
    model = DiffSal(micro_config()).save_pretrained(tmp_path / "model")
    out = tmp_path / "portrait.mp4"
    arguments = ["reframe", clip, "--model", model, "--out", out, "--steps", "1", "--threads", "1", "--quiet"]
    assert run(*arguments) == 0
    maps = tmp_path / "portrait.maps" / "clip"
    assert len(list(maps.glob("*.png"))) == 36 and (maps / "summary.json").is_file()
    stamp = os.stat(maps / "summary.json").st_mtime_ns
    out.unlink()
    assert run(*arguments) == 0 and out.is_file()  # done again from the maps already predicted
    assert os.stat(maps / "summary.json").st_mtime_ns == stamp
