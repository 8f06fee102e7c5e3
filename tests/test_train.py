"""Training on tiny generated synthetic data: learning, exact resume after a kill, guards."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from diffsal.training.config import load_train_config
from diffsal.training.trainer import TrainingError, train
from diffsal.errors import ConfigError
from diffsal.models.diffsal import DiffSal
from diffsal.synth.benchmark import SynthConfig, generate_benchmark


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    generate_benchmark(root, SynthConfig(num_videos=6, seed=3, width=112, height=64, seconds=2.0, num_observers=6))
    return root


def _overrides(root, out_dir, **extra):
    values = {
        "out_dir": str(out_dir), "model.preset": "tiny", "data.root": str(root), "data.train_stride": 4,
        "data.validation_fraction": 0.2, "data.validation_stride": 10, "data.num_workers": 0,
        "optim.lr": 2e-3, "optim.schedule": "constant", "train.batch_size": 4, "train.log_every": 1,
        "train.eval_every": 1000, "train.checkpoint_every": 1000, "train.seed": 7,
    }
    values.update(extra)
    return [f"{key}={value}" for key, value in values.items()]


def _losses(run_dir):
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return [record["loss"] for record in records if record["kind"] == "train"]


def test_tiny_model_learns_and_writes_a_complete_run_folder(synthetic_root, tmp_path):
    config = load_train_config(None, _overrides(synthetic_root, tmp_path / "run", **{"train.max_steps": 40}))
    result = train(config, device="cpu")
    losses = _losses(tmp_path / "run")
    assert len(losses) == 40
    assert sum(losses[-8:]) / 8 < 0.7 * sum(losses[:8]) / 8
    assert result.steps == 40 and result.best_cc is not None and result.best_checkpoint is not None
    for name in ("model.safetensors", "config.json", "training_state.pt"):
        assert (result.last_checkpoint / name).is_file()
    assert (tmp_path / "run" / "config.yaml").is_file()
    assert any((tmp_path / "run" / "tensorboard").iterdir())
    model = DiffSal.from_pretrained(result.best_checkpoint)
    assert model.config.num_frames == 8


def test_a_k_frame_model_trains_and_validates_on_its_k_targets(synthetic_root, tmp_path):
    config = load_train_config(None, _overrides(synthetic_root, tmp_path / "k4", **{
        "model.overrides.frames_out": 4, "train.max_steps": 2, "train.eval_every": 2}))
    result = train(config, device="cpu")
    records = [json.loads(line) for line in (tmp_path / "k4" / "log.jsonl").read_text().splitlines()]
    validation = [record for record in records if record["kind"] == "val"]
    assert len(_losses(tmp_path / "k4")) == 2 and validation and validation[-1]["maps"] % 4 == 0
    model = DiffSal.from_pretrained(result.last_checkpoint)
    assert model.config.frames_out == 4 and model.saliency_unet.head.out_channels == 4


def test_resume_after_a_kill_matches_an_uninterrupted_run(synthetic_root, tmp_path):
    steps = 12
    straight = train(load_train_config(None, _overrides(synthetic_root, tmp_path / "straight",
                                                        **{"train.max_steps": steps})), device="cpu")

    interrupted_dir = tmp_path / "interrupted"
    overrides = _overrides(synthetic_root, interrupted_dir, **{"train.max_steps": steps, "train.checkpoint_every": 1})
    process = subprocess.Popen([sys.executable, "-m", "diffsal", "train", *overrides, "--device", "cpu"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = interrupted_dir / "checkpoints" / "last"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if last.is_symlink() and int(os.readlink(last).split("-")[1]) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = int(os.readlink(last).split("-")[1])
    assert 3 <= killed_at < steps, "the run should have been killed part-way"

    resumed = train(load_train_config(None, overrides), resume=True, device="cpu")
    assert resumed.steps == steps
    expected = load_file(straight.last_checkpoint / "model.safetensors")
    actual = load_file(resumed.last_checkpoint / "model.safetensors")
    assert expected.keys() == actual.keys()
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key], rtol=1e-5, atol=1e-6, msg=key)
    # The log holds every step once: what the killed run logged after its last checkpoint was dropped.
    records = [json.loads(line) for line in (interrupted_dir / "log.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records if record["kind"] == "train"] == list(range(1, steps + 1))
    assert _losses(interrupted_dir) == pytest.approx(_losses(tmp_path / "straight"), rel=1e-5)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(synthetic_root, tmp_path, monkeypatch):
    original = DiffSal.training_loss
    calls = {"count": 0}

    def diverging(self, *args, **kwargs):
        calls["count"] += 1
        loss = original(self, *args, **kwargs)
        return loss * float("nan") if calls["count"] > 3 else loss

    monkeypatch.setattr(DiffSal, "training_loss", diverging)
    config = load_train_config(None, _overrides(synthetic_root, tmp_path / "run",
                                                **{"train.max_steps": 10, "train.checkpoint_every": 1}))
    with pytest.raises(TrainingError, match=r"loss became nan at step 4; the last good checkpoint is .*step-000003"):
        train(config, device="cpu")
    assert (tmp_path / "run" / "checkpoints" / "last").resolve().name == "step-000003"


def test_resume_without_a_checkpoint_is_an_error(synthetic_root, tmp_path):
    config = load_train_config(None, _overrides(synthetic_root, tmp_path / "empty", **{"train.max_steps": 2}))
    with pytest.raises(Exception, match="no checkpoint to resume from"):
        train(config, resume=True, device="cpu")


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="train.batch_sise: unknown key"):
        load_train_config(None, ["train.batch_sise=4"])
    with pytest.raises(ConfigError, match="optim.schedule: must be one of"):
        load_train_config(None, ["optim.schedule=linear"])
    result = subprocess.run([sys.executable, "-m", "diffsal", "train", "train.batch_size=0"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "diffsal train: error: train.batch_size must be in [1, 65536], got 0"


def test_gradient_accumulation_equals_the_larger_batch(synthetic_root, tmp_path):
    settings = {"train.max_steps": 3, "optim.name": "sgd", "optim.lr": 0.05}
    whole = train(load_train_config(None, _overrides(synthetic_root, tmp_path / "whole", **settings,
                                                     **{"train.batch_size": 4})), device="cpu")
    accumulated = train(load_train_config(None, _overrides(synthetic_root, tmp_path / "accumulated", **settings,
                                                           **{"train.batch_size": 2, "train.grad_accum": 2})),
                        device="cpu")
    expected = load_file(whole.last_checkpoint / "model.safetensors")
    actual = load_file(accumulated.last_checkpoint / "model.safetensors")
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key], rtol=1e-4, atol=1e-5, msg=key)


def test_ema_weights_are_what_the_model_file_holds(synthetic_root, tmp_path):
    config = load_train_config(None, _overrides(synthetic_root, tmp_path / "ema", **{
        "train.max_steps": 4, "train.ema_decay": 0.5}))
    result = train(config, device="cpu")
    saved = load_file(result.last_checkpoint / "model.safetensors")
    state = torch.load(result.last_checkpoint / "training_state.pt", weights_only=False)
    ema = {key.removeprefix("module."): value for key, value in state["ema"].items() if key.startswith("module.")}
    raw = state["model"]
    differing = [key for key in saved if not torch.equal(saved[key], raw[key])]
    assert differing, "with EMA the saved weights must be the average, not the raw weights"
    for key in saved:
        torch.testing.assert_close(saved[key], ema[key])
