"""`diffsal predict` end to end: maps for every frame, overlays with sound, summaries, resumable and
sharded runs, failures that never look complete, bad input, and `predict` then `evaluate`."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import scipy.io.wavfile
import torch
from PIL import Image

from diffsal.cli import main
from diffsal.data.annotations import write_fixation_mat, write_saliency_map
from diffsal.predictions.folder import VideoOutput
from diffsal.models import DiffSal, DiffSalConfig
from media import make_video, pattern_frame, tone

FPS = 5
SIZE = (80, 48)  # (width, height)
E2E_FRAMES = 12  # 2.4 s
FAST = ["--steps", "1", "--batch-size", "4", "--threads", "1", "--quiet"]


def micro_config(**changes) -> DiffSalConfig:
    data = DiffSalConfig.preset("tiny").to_dict()
    data.update(num_frames=4, height=32, width=64, **changes)
    return DiffSalConfig.from_dict(data)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return DiffSal(micro_config()).save_pretrained(tmp_path_factory.mktemp("model") / "best")


def sound(num_frames: int, rate: int = 44_100) -> np.ndarray:
    wave = tone(num_frames / FPS, rate, 440.0)
    return np.stack([wave, 0.5 * wave])


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "talk.mp4", E2E_FRAMES, FPS, SIZE, sound(E2E_FRAMES), 44_100)


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory) -> Path:
    """Four short videos: different lengths, one without sound, one in another container."""
    folder = tmp_path_factory.mktemp("videos")
    make_video(folder / "a.mp4", 5, FPS, SIZE, sound(5), 44_100)
    make_video(folder / "b.mp4", 7, FPS, SIZE, None)
    make_video(folder / "c.mkv", 6, FPS, (64, 40), sound(6, 48_000), 48_000)
    make_video(folder / "d.mp4", 4, FPS, SIZE, sound(4), 44_100)
    return folder


def predict(*args: str | Path) -> int:
    try:
        return main(["predict", *map(str, args)])
    except SystemExit as exited:  # argparse checks the numeric flags
        return exited.code


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def streams(path: Path) -> tuple[int, float, float | None]:
    """(video frames, video duration s, audio duration s or None) by decoding the file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        video_s = frames / float(video.average_rate)
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return frames, video_s, None
        audio = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(audio))
        # AAC encoder priming: the decoder skips it when the file says so; allow the 1024-sample frame.
        return frames, video_s, samples / audio.codec_context.sample_rate


def partial_folders(root: Path) -> list[Path]:
    return [path for path in root.rglob(".*partial*")]


# ---------------------------------------------------------------------- end to end
def test_video_with_sound_end_to_end(tmp_path, video, model_dir):
    out = tmp_path / "out"
    assert predict(video, "--model", model_dir, "--out", out, "--panel", "--save-npy", *FAST) == 0
    folder = out / "talk"
    pngs = sorted(folder.glob("*.png"))
    assert [p.name for p in pngs] == [f"{n:05d}.png" for n in range(1, E2E_FRAMES + 1)]
    assert all(read_png(p).shape == (SIZE[1], SIZE[0]) and read_png(p).dtype == np.uint8 for p in pngs)
    assert len(list(folder.glob("*.npy"))) == E2E_FRAMES
    assert np.load(folder / "00003.npy").shape == (SIZE[1], SIZE[0])
    for name, width in (("overlay.mp4", SIZE[0]), ("panel.mp4", 2 * SIZE[0])):
        frames, video_s, audio_s = streams(folder / name)
        assert frames == E2E_FRAMES
        assert audio_s is not None and abs(audio_s - video_s) <= 1 / FPS, (name, audio_s, video_s)
        with av.open(str(folder / name)) as container:
            assert container.streams.video[0].width == width
            assert container.streams.audio[0].codec_context.sample_rate == 44_100  # the original track
            assert container.streams.audio[0].codec_context.channels == 2
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["format"] == "diffsal-prediction"
    assert summary["frames"] == E2E_FRAMES and summary["predicted_frames"] == E2E_FRAMES
    assert summary["steps"] == 1 and summary["samples"] == 1 and summary["stride"] == 1
    assert summary["model"]["path"] == str(model_dir.resolve()) and len(summary["model"]["weights_sha256"]) == 64
    assert summary["audio"].startswith("sound track of") and summary["fps"] == FPS
    assert summary["time"]["s_per_frame"] > 0 and summary["size"] == {"width": SIZE[0], "height": SIZE[1]}
    run = json.loads((out / "predict_summary.json").read_text())
    assert run["videos"] == run["done"] == run["complete"] == 1 and run["failed"] == 0 and run["incomplete"] == {}


def test_same_seed_identical_maps_and_samples_give_uncertainty(tmp_path, video, model_dir):
    first, second, rebatched, other = (tmp_path / name for name in ("first", "second", "rebatched", "other"))
    for out, batch in ((first, "4"), (second, "4"), (rebatched, "5")):
        assert predict(video, "--model", model_dir, "--out", out, "--no-overlay", *FAST, "--batch-size", batch) == 0
    for n in range(1, E2E_FRAMES + 1):
        name = f"talk/{n:05d}.png"
        np.testing.assert_array_equal(read_png(first / name), read_png(second / name))
        # Another batch size: the same noise, only float rounding of batched kernels differs.
        assert np.abs(read_png(first / name).astype(int) - read_png(rebatched / name)).max() <= 1
    assert predict(video, "--model", model_dir, "--out", other, "--samples", "3", "--seed", "5", *FAST) == 0
    stds = [read_png(other / "talk" / "uncertainty" / f"{n:05d}.png") for n in range(1, E2E_FRAMES + 1)]
    assert stds[0].dtype == np.uint16 and all(std.max() > 0 for std in stds)
    summary = json.loads((other / "talk" / "summary.json").read_text())
    assert summary["samples"] == 3 and summary["uncertainty"]["max_std"] > 0
    assert "uncertainty.mp4" in summary["files"]["videos"]
    frames, _, audio_s = streams(other / "talk" / "uncertainty.mp4")
    assert frames == E2E_FRAMES and audio_s is not None
    assert not np.array_equal(read_png(first / "talk" / "00006.png"), read_png(other / "talk" / "00006.png"))


def test_stride_and_no_audio_are_stated_in_the_summary(tmp_path, video, model_dir):
    out = tmp_path / "out"
    assert predict(video, "--model", model_dir, "--out", out, "--stride", "5", "--no-audio", "--no-overlay", *FAST) == 0
    summary = json.loads((out / "talk" / "summary.json").read_text())
    assert summary["predicted_frames"] == 4 and summary["interpolated_frames"] == E2E_FRAMES - 4  # 0, 5, 10, 11
    assert "interpolation" in summary["interpolation"] and summary["audio"].startswith("silence: --no-audio")
    assert len(list((out / "talk").glob("*.png"))) == E2E_FRAMES and summary["files"]["videos"] == []


def test_k_frame_model_writes_every_frame_exactly_once(tmp_path, monkeypatch):
    """K = 4 maps per clip: lengths 1, K - 1, K + 1 and 2K + 3 (not multiples of K) are covered, no frame twice."""
    torch.manual_seed(0)
    model_k4 = DiffSal(micro_config(frames_out=4)).save_pretrained(tmp_path / "model_k4")
    folder = tmp_path / "videos"
    folder.mkdir()
    lengths = {"one": 1, "short": 3, "k_plus_1": 5, "two_k_plus_3": 11}
    for name, frames in lengths.items():
        make_video(folder / f"{name}.mp4", frames, FPS, SIZE, sound(frames), 44_100)
    writes: dict[tuple[str, int], int] = {}
    original = VideoOutput.write_map

    def counting(self, index, levels):
        writes[(self.key, index)] = writes.get((self.key, index), 0) + 1
        return original(self, index, levels)

    monkeypatch.setattr(VideoOutput, "write_map", counting)
    out = tmp_path / "out"
    assert predict(folder, "--model", model_k4, "--out", out, "--no-overlay", *FAST, "--batch-size", "2") == 0
    assert writes == {(name, index): 1 for name, frames in lengths.items() for index in range(frames)}
    for name, frames in lengths.items():
        assert sorted(path.name for path in (out / name).glob("*.png")) == [f"{n:05d}.png" for n in range(1, frames + 1)]
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["model"]["frames_out"] == 4 and summary["predicted_frames"] == frames
        assert summary["precision"] == "fp32" and summary["interpolation"] == "none: every frame predicted (4 per clip)"


def test_bf16_precision_is_recorded_and_close_to_fp32(tmp_path, video, model_dir):
    full, half = tmp_path / "fp32", tmp_path / "bf16"
    assert predict(video, "--model", model_dir, "--out", full, "--no-overlay", "--save-npy", *FAST) == 0
    assert predict(video, "--model", model_dir, "--out", half, "--no-overlay", "--save-npy", *FAST,
                   "--precision", "bf16") == 0
    summary = json.loads((half / "talk" / "summary.json").read_text())
    assert summary["precision"] == "bf16" and summary["signature"]["precision"] == "bf16"
    assert json.loads((full / "talk" / "summary.json").read_text())["signature"]["precision"] == "fp32"
    for n in range(1, E2E_FRAMES + 1):
        a, b = (np.load(root / "talk" / f"{n:05d}.npy").ravel() for root in (full, half))
        # Absolute, not correlation: see test_inference.test_bf16_predictor_is_close_to_fp32.
        assert np.abs(a - b).max() < 0.06 and np.abs(a - b).mean() < 0.006


# ---------------------------------------------------------------------- resumable, failures
def test_rerun_skips_complete_videos_and_refuses_other_settings(tmp_path, video, model_dir, capsys):
    out = tmp_path / "out"
    assert predict(video, "--model", model_dir, "--out", out, "--no-overlay", *FAST) == 0
    stamp = (out / "talk" / "summary.json").stat().st_mtime_ns
    assert predict(video, "--model", model_dir, "--out", out, "--no-overlay", "--steps", "1", "--batch-size", "2") == 0
    assert "already complete" in capsys.readouterr().err
    assert (out / "talk" / "summary.json").stat().st_mtime_ns == stamp
    assert json.loads((out / "predict_summary.json").read_text())["skipped"] == 1
    assert predict(video, "--model", model_dir, "--out", out, "--no-overlay", "--steps", "2", "--quiet") == 1
    assert "other settings (steps 1 -> 2)" in capsys.readouterr().err
    assert predict(video, "--model", model_dir, "--out", out, "--no-overlay", "--steps", "2", "--quiet", "--overwrite") == 0
    assert json.loads((out / "talk" / "summary.json").read_text())["steps"] == 2
    assert partial_folders(out) == []


def test_corrupt_video_among_good_ones_fails_alone(tmp_path, video, model_dir, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(video, folder / "good.mp4")
    (folder / "broken.mp4").write_bytes(os.urandom(3000))
    audio_only = folder / "voice.mkv"
    with av.open(str(audio_only), "w") as container:  # a file with no video stream
        stream = container.add_stream("aac", rate=16_000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16_000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    out = tmp_path / "out"
    assert predict(folder, "--model", model_dir, "--out", out, *FAST) == 1
    err = capsys.readouterr().err
    assert "broken: FAILED" in err and "voice: FAILED" in err and "no video stream" in err
    assert "2 of 3 video(s) incomplete" in err
    assert len(list((out / "good").glob("*.png"))) == E2E_FRAMES and (out / "good" / "overlay.mp4").is_file()
    assert not (out / "broken").exists() and not (out / "voice").exists() and partial_folders(out) == []
    run = json.loads((out / "predict_summary.json").read_text())
    assert run["done"] == 1 and run["failed"] == 2 and set(run["incomplete"]) == {"broken", "voice"}


def test_a_failure_late_in_a_video_leaves_nothing_that_looks_complete(tmp_path, video, model_dir, monkeypatch):
    import diffsal.inference.runner as runner

    def broken_render(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(runner, "render_videos", broken_render)
    out = tmp_path / "out"
    assert predict(video, "--model", model_dir, "--out", out, *FAST) == 1
    assert not (out / "talk").exists() and partial_folders(out) == []
    run = json.loads((out / "predict_summary.json").read_text())
    assert run["incomplete"] == {"talk": "failed: OSError: disk full"}


def test_a_failure_of_the_overlay_encoder_fails_the_video_and_leaves_no_file(tmp_path, video, model_dir, monkeypatch):
    """overlay.mp4 is encoded in a background thread while the maps are predicted: its error fails the video
    (as any other error) and neither the folder nor a temporary video is left."""
    import diffsal.inference.render as render

    def broken_blend(frame, levels):
        if broken_blend.calls == 3:
            raise OSError("encoder died")
        broken_blend.calls += 1
        return frame

    broken_blend.calls = 0
    monkeypatch.setattr(render, "blend", broken_blend)
    out = tmp_path / "out"
    assert predict(video, "--model", model_dir, "--out", out, *FAST) == 1
    assert not (out / "talk").exists() and partial_folders(out) == [] and list(out.rglob("*.mp4")) == []
    run = json.loads((out / "predict_summary.json").read_text())
    assert run["incomplete"] == {"talk": "failed: OSError: encoder died"}


def test_the_overlay_shows_each_frame_under_its_own_map(tmp_path, video, model_dir):
    """The streamed overlay is frame k blended with map k (the same as blending the PNGs afterwards)."""
    from diffsal.io.overlay import blend
    from diffsal.io.video import VideoReader

    out = tmp_path / "out"
    assert predict(video, "--model", model_dir, "--out", out, *FAST) == 0
    with VideoReader(video) as source, VideoReader(out / "talk" / "overlay.mp4") as overlay:
        assert overlay.num_frames == source.num_frames
        for index in (0, source.num_frames // 2, source.num_frames - 1):
            levels = np.asarray(Image.open(out / "talk" / f"{index + 1:05d}.png"))
            expected = blend(source.frame(index), levels).astype(np.float32)
            got = overlay.frame(index).astype(np.float32)
            assert np.abs(got - expected).mean() < 6.0  # H.264 at crf 20 on a small busy frame: a few levels
            wrong = blend(source.frame(index), np.roll(levels, levels.shape[1] // 2, axis=1)).astype(np.float32)
            assert np.abs(got - expected).mean() < np.abs(got - wrong).mean()


# ---------------------------------------------------------------------- bad input
def test_bad_inputs_exit_2_with_one_clear_line(tmp_path, video, model_dir, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    no_weights = tmp_path / "no_weights"
    no_weights.mkdir()
    shutil.copy(model_dir / "config.json", no_weights / "config.json")
    mismatch = tmp_path / "mismatch"
    shutil.copytree(model_dir, mismatch)
    document = json.loads((mismatch / "config.json").read_text())
    document["config"] = micro_config(video={"channels": [8, 16, 32, 64]}).to_dict()
    (mismatch / "config.json").write_text(json.dumps(document))
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints" / "best").mkdir(parents=True)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    cases = [
        ((tmp_path / "missing.mp4", "--model", model_dir), "no such file"),
        ((empty, "--model", model_dir), "no video files"),
        ((video, "--model", tmp_path / "nowhere"), "model directory not found"),
        ((video, "--model", no_weights), "model.safetensors not found"),
        ((video, "--model", mismatch), "does not fit the model"),
        ((video, "--model", run_dir), "is a training run, not a model folder; use --model"),
        ((video, "--model", model_dir, "--steps", "100000"), "steps must be in"),
        ((video, "--model", model_dir, "--stride", "0"), "--stride: must be in [1, 1000000]"),
        ((video, "--model", model_dir, "--threads", "0"), "--threads: must be in [1, 1024]"),
        ((video, "--model", model_dir, "--precision", "fp16"), "precision must be one of fp32, bf16, got 'fp16'"),
    ]
    if not torch.cuda.is_available():
        cases.append(((video, "--model", model_dir, "--device", "cuda"), "no CUDA device is visible"))
    for args, message in cases:
        assert predict(*args, "--out", tmp_path / "out", "--quiet") == 2, message
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert predict(video, "--model", model_dir, "--out", blocker / "out", "--quiet") == 2
    assert f"{blocker}: is a file, expected a parent of output folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # every option is checked before OUT is made


# ---------------------------------------------------------------------- dataset split -> evaluate
def write_dataset(root: Path, videos: dict[str, int]) -> None:
    """A STAViS-layout database "DB" with frames, wavs, maps, fixations and a split-1 test list."""
    lines = []
    rng = np.random.default_rng(0)
    for name, num_frames in videos.items():
        frames = root / "video_frames" / "DB" / name
        maps = root / "annotations" / "DB" / name / "maps"
        audio = root / "video_audio" / "DB" / name
        for folder in (frames, maps, audio):
            folder.mkdir(parents=True)
        for index in range(num_frames):
            Image.fromarray(pattern_frame(index, *SIZE)).save(frames / f"img_{index + 1:05d}.jpg", quality=95)
            fixations = np.zeros((SIZE[1], SIZE[0]), bool)
            fixations[rng.integers(0, SIZE[1], 5), rng.integers(0, SIZE[0], 5)] = True
            write_fixation_mat(maps.parent / f"fixMap_{index + 1:05d}.mat", fixations)
            write_saliency_map(maps / f"eyeMap_{index + 1:05d}.jpg", fixations.astype(np.float32))
        wave = (tone(num_frames / FPS, 16_000) * 32767).astype(np.int16)
        scipy.io.wavfile.write(audio / f"{name}.wav", 16_000, wave)
        lines.append(f"{name} {num_frames} {FPS}")
    (root / "fold_lists").mkdir(parents=True)
    (root / "fold_lists" / "DB_list_test_1_fps.txt").write_text("\n".join(lines))


def test_dataset_split_predictions_are_what_evaluate_reads(tmp_path, model_dir):
    root = tmp_path / "data"
    write_dataset(root, {"v1": 6, "v2": 5})
    out = tmp_path / "pred"
    assert predict(root, "--model", model_dir, "--out", out, "--panel", *FAST) == 0
    assert sorted(p.name for p in (out / "DB" / "v1").glob("*.png")) == [f"{n:05d}.png" for n in range(1, 7)]
    frames, _, audio_s = streams(out / "DB" / "v2" / "panel.mp4")
    assert frames == 5 and audio_s is not None
    with av.open(str(out / "DB" / "v2" / "panel.mp4")) as container:
        assert container.streams.video[0].width == 3 * SIZE[0]  # frame | prediction | ground truth
    evaluation = tmp_path / "evaluation"
    assert main(["evaluate", str(root), str(out), "--split", "1", "--require-all-frames", "--metrics", "CC,NSS",
                 "--out", str(evaluation), "--threads", "1"]) == 0
    rows = list(csv.DictReader((evaluation / "per_video.csv").open()))
    scored = [(row["video"], row["frames_scored"], row["frames_missing"]) for row in rows]
    assert scored == [("v1", "6", "0"), ("v2", "5", "0")]


# ---------------------------------------------------------------------- torchrun
def test_two_process_torchrun_writes_each_video_once_and_matches_one_process(tmp_path, video_folder, model_dir):
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    assert predict(video_folder, "--model", model_dir, "--out", single, *FAST) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "diffsal", "predict", str(video_folder), "--model", str(model_dir), "--out", str(sharded), *FAST]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads((sharded / "predict_summary.json").read_text())
    assert run["world_size"] == 2 and run["done"] == 4 and run["skipped"] == 0 and run["incomplete"] == {}
    assert run["predicted_by_rank"] == {"a": 0, "b": 1, "c": 0, "d": 1}
    for key, frames in {"a": 5, "b": 7, "c": 6, "d": 4}.items():
        summary = json.loads((sharded / key / "summary.json").read_text())
        assert summary["rank"] == run["predicted_by_rank"][key] and summary["frames"] == frames
        for n in range(1, frames + 1):
            np.testing.assert_array_equal(read_png(sharded / key / f"{n:05d}.png"), read_png(single / key / f"{n:05d}.png"))
        assert streams(sharded / key / "overlay.mp4")[0] == frames
    assert json.loads((sharded / "b" / "summary.json").read_text())["audio"].startswith("silence: the video has no sound")
    assert streams(sharded / "b" / "overlay.mp4")[2] is None
    # Resumable: the one-process run over the sharded tree finds everything complete.
    assert predict(video_folder, "--model", model_dir, "--out", sharded, *FAST) == 0
    assert json.loads((sharded / "predict_summary.json").read_text())["skipped"] == 4
