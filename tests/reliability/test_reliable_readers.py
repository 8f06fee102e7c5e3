"""Every reader of a file a user could have been handed, fed random and damaged bytes: one line naming the file,
exit code 2 (1 only where a batch goes on past one bad video), never a traceback and never a result from garbage.

Readers: released checkpoints (`convert-published`), model folders (weights and config), recipes (`train`),
crop paths (`reframe`), map videos (`evaluate`, `reframe --maps`) and prediction summaries."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from media import make_video
from trees import make_stavis

from diffsal.predictions.map_formats import map_format
from diffsal.predictions.folder import VideoOutput, map_png
from diffsal.io.writer import write_gray_video

SEED = 20261206


def _random_files(count: int) -> list[bytes]:
    """Random bytes of many lengths, some behind the magic numbers of a zip archive, a pickle and JSON."""
    rng = np.random.default_rng(SEED)
    heads = [b"", b"PK\x03\x04", b"\x80\x02", b"\x80\x04\x95", b"{", b"\x89HDF", b"\x1aE\xdf\xa3"]
    files = []
    for index in range(count):
        body = rng.integers(0, 256, int(rng.integers(0, 3000)), dtype=np.uint8).tobytes()
        files.append(heads[index % len(heads)] + body)
    return files


def _mutations(original: bytes, count: int) -> list[bytes]:
    """`original` truncated, with bytes flipped, with a run zeroed or duplicated."""
    rng = np.random.default_rng(SEED + 1)
    mutated = []
    for index in range(count):
        data = bytearray(original)
        kind = index % 4
        if kind == 0:
            data = data[: int(rng.integers(0, len(data)))]
        elif kind == 1:
            for position in rng.integers(0, len(data), int(rng.integers(1, 16))):
                data[position] ^= int(rng.integers(1, 256))
        elif kind == 2:
            start = int(rng.integers(0, len(data)))
            data[start : start + int(rng.integers(1, 200))] = bytes(min(len(data) - start, 200))
        else:
            start = int(rng.integers(0, len(data)))
            data[start:start] = data[start : start + int(rng.integers(1, 200))]
        mutated.append(bytes(data))
    return mutated


def _released_like_checkpoint() -> bytes:
    buffer = io.BytesIO()
    torch.save({"state_dict": {"module.decoder_net.conv.weight": torch.arange(12.0).reshape(3, 4),
                               "module.audio_net.fc.bias": torch.ones(5)}, "epoch": 3, "step": 10}, buffer)
    return buffer.getvalue()


def _one_line(outcome, *fragments: str, exit_codes=(2,)) -> None:
    assert outcome.exit_code in exit_codes, (outcome.exit_code, outcome.stderr)
    assert "Traceback" not in outcome.stderr and "internal error" not in outcome.stderr, outcome.stderr
    errors = [line for line in outcome.error_lines if "error" in line]
    assert len(errors) == 1, outcome.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


def test_convert_published_refuses_any_unreadable_bytes_in_one_line(cli, tmp_path):
    cases = _random_files(60) + _mutations(_released_like_checkpoint(), 60)
    for index, content in enumerate(cases):
        checkpoint = tmp_path / f"case{index}.pth"
        checkpoint.write_bytes(content)
        out = tmp_path / f"out{index}"
        outcome = cli("convert-published", checkpoint, "--out", out)
        _one_line(outcome, checkpoint.name)
        assert not out.exists() or not any(out.iterdir()), index


@pytest.mark.parametrize("damaged", ["model.safetensors", "config.json"])
def test_a_damaged_model_folder_is_one_line(cli, tmp_path, micro_model, damaged):
    original = (micro_model / damaged).read_bytes()
    cases = _random_files(12) + _mutations(original, 12 if damaged == "config.json" else 8)
    for index, content in enumerate(cases):
        model = tmp_path / f"model{index}"
        shutil.copytree(micro_model, model)
        (model / damaged).write_bytes(content)
        outcome = cli("info", "--model", model)
        if outcome.exit_code == 0:  # a mutation that left a valid file (a flipped digit of a float, say)
            continue
        _one_line(outcome)


def test_a_damaged_recipe_is_one_line(cli, tmp_path):
    recipe = (Path(__file__).resolve().parents[2] / "configs" / "synthetic_tiny.yaml").read_bytes()
    for index, content in enumerate(_random_files(20) + _mutations(recipe, 20)):
        path = tmp_path / f"recipe{index}.yaml"
        path.write_bytes(content)
        outcome = cli("train", "--config", path, f"out_dir={tmp_path / f'run{index}'}", "data.root=/nonexistent")
        _one_line(outcome)
        assert not (tmp_path / f"run{index}").exists()


@pytest.fixture(scope="module")
def reframed(tmp_path_factory, micro_model) -> tuple[Path, Path]:
    from diffsal.cli import main

    folder = tmp_path_factory.mktemp("reframed")
    video = make_video(folder / "clip.mp4", 8, 6, (96, 54))
    out = folder / "out" / "clip.mp4"
    assert main(["reframe", str(video), "--model", str(micro_model), "--out", str(out), "--steps", "1",
                 "--quiet"]) == 0
    return video, out


def test_a_damaged_crop_path_is_refused_or_redone_never_trusted(cli, tmp_path, reframed, micro_model):
    video, finished = reframed
    original = finished.with_suffix(".crop_path.json").read_bytes()
    document = json.loads(original)
    edits = [{"windows": "garbage"}, {"windows": [[1, 2]]}, {"window_size": None}, {"shots": 7},
             {"frame_size": {"width": "x"}}, {"seconds": [], "quality": 3}, {"status": "complete", "format": 1}]
    cases = _random_files(10) + _mutations(original, 12) + [json.dumps({**document, **edit}).encode() for edit in edits]
    for index, content in enumerate(cases):
        out = tmp_path / f"case{index}" / "clip.mp4"
        shutil.copytree(finished.parent, out.parent)
        out.with_suffix(".crop_path.json").write_bytes(content)
        outcome = cli("reframe", video, "--model", micro_model, "--out", out, "--steps", "1", "--quiet")
        if outcome.exit_code == 0:  # ours, damaged: done again, and now complete and readable
            assert json.loads(out.with_suffix(".crop_path.json").read_text())["status"] == "complete"
            continue
        _one_line(outcome, "crop_path.json")


def _map_video_prediction(root: Path, video: Path, frames: int, size: tuple[int, int]) -> Path:
    output = VideoOutput(root, video.stem, map_format("mp4"))
    output.begin()
    levels = [map_png(np.random.default_rng(index).random(size[::-1]), "minmax") for index in range(frames)]
    write_gray_video(output.built_path("saliency.mp4"), levels, 6)
    output.finish({"video": video.stem, "input": str(video), "frames": frames,
                   "size": {"width": size[0], "height": size[1]}, "signature": {"map_format": "mp4"},
                   "files": {"map_format": "mp4", "videos": []}})
    return output.path


def test_a_damaged_map_video_is_one_line_for_evaluate_and_reframe(cli, tmp_path):
    data = make_stavis(tmp_path / "data", {"clip": 6})
    video = make_video(tmp_path / "clip.mp4", 6, 6, (80, 48))
    prediction = _map_video_prediction(tmp_path / "predictions" / "DB", video, 6, (80, 48))
    original = (prediction / "saliency.mp4").read_bytes()
    for index, content in enumerate(_random_files(6) + _mutations(original, 10)):
        (prediction / "saliency.mp4").write_bytes(content)
        scored = cli("evaluate", data, tmp_path / "predictions", "--pattern", "mp4", "--metrics", "CC",
                     "--out", tmp_path / f"scores{index}", "--quiet")
        if scored.exit_code != 0:
            _one_line(scored)
        reframed = cli("reframe", video, "--maps", tmp_path / "predictions", "--out", tmp_path / f"r{index}.mp4",
                       "--quiet")
        if reframed.exit_code != 0:
            _one_line(reframed)
            assert not (tmp_path / f"r{index}.mp4").exists()


def test_a_damaged_prediction_summary_is_one_line_for_reframe_evaluate_and_predict(cli, tmp_path, micro_model):
    data = make_stavis(tmp_path / "data", {"clip": 6})
    video = make_video(tmp_path / "clip.mp4", 6, 6, (80, 48))
    prediction = _map_video_prediction(tmp_path / "predictions" / "DB", video, 6, (80, 48))
    summary = json.loads((prediction / "summary.json").read_text())
    edits = [{"frames": "six"}, {"frames": None}, {"size": [80, 48]}, {"size": {"width": None}},
             {"files": "saliency.mp4"}, {"files": {"map_format": "gif"}}, {"files": {"map_format": ["mp4"]}},
             {"input": 5}, {"signature": "x"}]
    cases = _random_files(8) + [json.dumps({**summary, **edit}).encode() for edit in edits]
    for index, content in enumerate(cases):
        (prediction / "summary.json").write_bytes(content)
        reframed = cli("reframe", video, "--maps", prediction, "--out", tmp_path / f"r{index}.mp4", "--quiet")
        if reframed.exit_code != 0:
            _one_line(reframed)
        scored = cli("evaluate", data, tmp_path / "predictions", "--pattern", "mp4", "--metrics", "CC",
                     "--out", tmp_path / f"scores{index}", "--quiet")
        if scored.exit_code != 0:
            _one_line(scored)
    for index, content in enumerate(_random_files(6)):
        (tmp_path / "predictions" / "predict_summary.json").write_bytes(content)
        scored = cli("evaluate", data, tmp_path / "predictions", "--metrics", "CC", "--out",
                     tmp_path / f"run_summary{index}", "--quiet")
        assert scored.exit_code in (0, 2) and "Traceback" not in scored.stderr
        predicted = cli("predict", data, "--model", micro_model, "--out", tmp_path / "predictions", "--steps", "1",
                        "--quiet", "--no-overlay", "--no-audio", "--format", "mp4")
        # A batch: the video is refused by name (exit 1) or predicted.
        assert predicted.exit_code in (0, 1) and "Traceback" not in predicted.stderr, predicted.stderr
        assert "internal error" not in predicted.stderr
