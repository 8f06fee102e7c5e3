"""Two CPU processes under torchrun (gloo) against one process with the same global batch."""

import json
import subprocess
import sys

import torch
from safetensors.torch import load_file

from diffsal.engine.config import load_train_config
from diffsal.engine.trainer import train
from diffsal.synth.benchmark import SynthConfig, generate_benchmark
from test_train import _overrides


def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    root = tmp_path / "data"
    generate_benchmark(root, SynthConfig(num_videos=5, seed=4, width=112, height=64, seconds=2.0, num_observers=4))
    # SGD: Adam's first steps move every weight by about +-lr whatever the gradient's size, so float
    # rounding in gradients that are analytically zero (a bias before a normalisation) would flip them.
    settings = {"train.max_steps": 4, "optim.name": "sgd", "optim.lr": 0.05}
    single = train(load_train_config(None, _overrides(root, tmp_path / "one", **settings,
                                                      **{"train.batch_size": 4})), device="cpu")

    overrides = _overrides(root, tmp_path / "two", **settings, **{"train.batch_size": 2})
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "diffsal", "train", *overrides, "--device", "cpu"],
        capture_output=True, text=True, timeout=600, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]

    records = [json.loads(line) for line in (tmp_path / "two" / "log.jsonl").read_text().splitlines()]
    replicas = [record for record in records if record["kind"] == "replicas"]
    assert replicas and replicas[-1]["checksum_spread"] == 0.0  # both ranks hold identical weights

    expected = load_file(single.last_checkpoint / "model.safetensors")
    actual = load_file(tmp_path / "two" / "checkpoints" / "last" / "model.safetensors")
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key], rtol=1e-4, atol=1e-5, msg=key)
    single_losses = [r["loss"] for r in map(json.loads, (tmp_path / "one" / "log.jsonl").read_text().splitlines())
                     if r["kind"] == "train"]
    double_losses = [r["loss"] for r in records if r["kind"] == "train"]
    assert double_losses == __import__("pytest").approx(single_losses, rel=1e-4)
