"""`diffsal info --model`: parameters per component and FLOPs, for presets and saved models."""

import json

import pytest

from diffsal.cli import main
from diffsal.models import DiffSal, DiffSalConfig


def run_json(capsys, *args):
    assert main(["info", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_plain_info_still_lists_the_environment(capsys):
    report = run_json(capsys)
    assert "torch" in report["environment"] and "model" not in report


def test_tiny_preset_report(capsys):
    report = run_json(capsys, "--model", "tiny")["model"]
    params = report["parameters"]
    model = DiffSal.from_preset("tiny")
    assert params["total"]["registered"] == sum(p.numel() for p in model.parameters())
    assert params["video encoder (MViTv2)"]["registered"] == sum(p.numel() for p in model.video_encoder.parameters())
    assert sum(v["registered"] for k, v in params.items() if k != "total") == params["total"]["registered"]
    flops = report["flops"]
    assert flops["per extra step"] == flops["Saliency-UNet step"] > 0
    assert flops["per clip (1 step)"] > flops["video encoder"] + flops["audio encoder"] > 0
    assert report["input"] == "8x64x112 frames + 1.52 s of 16 kHz audio" and report["maps per clip"] == 1
    assert flops["per predicted frame (1 step)"] == flops["per clip (1 step)"]


def test_frames_out_divides_the_cost_per_frame(capsys, tmp_path):
    report = run_json(capsys, "--model", "paper", "--frames-out", "8")["model"]
    flops = report["flops"]
    assert report["maps per clip"] == 8
    assert flops["per predicted frame (1 step)"] == pytest.approx(flops["per clip (1 step)"] / 8, abs=1)
    DiffSal(DiffSalConfig.preset("tiny")).save_pretrained(tmp_path / "m")
    assert main(["info", "--model", str(tmp_path / "m"), "--frames-out", "8"]) == 2
    assert "--frames-out applies to a preset" in capsys.readouterr().err


def test_paper_preset_flops_match_the_published_budget(capsys):
    report = run_json(capsys, "--model", "paper")["model"]
    flops = {k: v / 1e9 for k, v in report["flops"].items()}
    # Measured on the published model: MViT 256, VGGish 52, Saliency-UNet 153 GFLOPs. diffsal's MViT attention
    # takes the relative positions as T' + H' + W' more channels of each query and key (values padded to match):
    # ~31 GFLOPs more products than the published additive terms, in exchange for no (queries x keys) mask.
    assert flops["video encoder"] == pytest.approx(256 + 31, rel=0.05)
    assert flops["audio encoder"] == pytest.approx(52, rel=0.10)
    assert 60 < flops["per extra step"] < 160
    assert report["parameters"]["total"]["registered"] == pytest.approx(76e6, rel=0.05)


def test_saved_model_report_counts_frozen_parameters(tmp_path, capsys):
    config = DiffSalConfig.preset("tiny")
    model = DiffSal(config)
    model.audio_encoder.trunk_pretrained = True
    model.audio_encoder.freeze_trunk()
    model.save_pretrained(tmp_path / "m")
    report = run_json(capsys, "--model", str(tmp_path / "m"))["model"]
    trunk = report["parameters"]["audio encoder (VGGish trunk)"]
    assert trunk["registered"] > 0 and trunk["trainable"] == 0
    total = report["parameters"]["total"]
    assert total["trainable"] == total["registered"] - trunk["registered"]


def test_video_only_model_has_no_audio_rows(tmp_path, capsys):
    config = DiffSalConfig.from_dict({**DiffSalConfig.preset("tiny").to_dict(), "use_audio": False})
    DiffSal(config).save_pretrained(tmp_path / "v")
    report = run_json(capsys, "--model", str(tmp_path / "v"))["model"]
    assert not any(name.startswith("audio") for name in report["parameters"])
    assert report["flops"]["audio encoder"] == 0 and report["input"].endswith("(video only)")


def test_table_output_and_bad_model(capsys, tmp_path):
    assert main(["info", "--model", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "Saliency-UNet" in out and "per extra step" in out
    assert main(["info", "--model", str(tmp_path / "absent")]) == 2
    assert "neither a preset" in capsys.readouterr().err
    (tmp_path / "broken").mkdir()
    assert main(["info", "--model", str(tmp_path / "broken")]) == 2
    assert "config.json not found" in capsys.readouterr().err



def test_time_reports_positive_durations(capsys):
    report = run_json(capsys, "--model", "tiny", "--time", "--batch-size", "1")
    timing = report["timing"]
    assert timing["device"] == "cpu" and timing["batch"] == 1
    assert timing["predict, 1 step (s)"] > 0 and timing["training step (s)"] > 0
    assert timing["extra step (s)"] >= 0
    assert main(["info", "--time"]) == 2
    assert "--time needs --model" in capsys.readouterr().err
