"""Two CPU processes under torchrun (gloo) against one process with the same global batch."""

import json
import subprocess
import sys

import torch
from safetensors.torch import load_file

from diffsal.training.config import load_train_config
from diffsal.training.trainer import train
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


# ---------------------------------------------------------------------- diffsal.runtime: one parser for both users
import pytest  # noqa: E402

from diffsal.errors import InputError  # noqa: E402
from diffsal.runtime import TorchrunEnv, check_device_spec, resolve_device  # noqa: E402


def test_torchrun_environment_is_parsed_and_checked_once():
    assert TorchrunEnv.from_env({}) == TorchrunEnv(0, 1, 0)
    assert TorchrunEnv.from_env({"RANK": "3", "WORLD_SIZE": "4"}) == TorchrunEnv(3, 4, 3)  # LOCAL_RANK defaults to RANK
    env = TorchrunEnv.from_env({"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1"})
    assert (env.distributed, env.is_main, env.take(list(range(20))), env.prefix()) == (True, False, [5, 13], "[rank 5/8] ")
    for environ, message in (({"RANK": "x"}, "RANK must be an integer"), ({"WORLD_SIZE": "0"}, "WORLD_SIZE must be >= 1"),
                             ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK=2 is not in 0..WORLD_SIZE-1"),
                             ({"LOCAL_RANK": "-1"}, "LOCAL_RANK must be >= 0")):
        with pytest.raises(InputError, match=message):
            TorchrunEnv.from_env(environ)


def test_the_trainer_and_sharded_prediction_share_the_runtime():
    import inspect

    from diffsal.inference.runner import PredictionRun
    from diffsal.inference.sharding import ShardGroup
    from diffsal.training.distributed import init_distributed

    assert inspect.signature(PredictionRun).parameters["place"].annotation in (TorchrunEnv, "TorchrunEnv")
    assert inspect.signature(ShardGroup).parameters["place"].annotation in (TorchrunEnv, "TorchrunEnv")
    group = init_distributed("cpu", TorchrunEnv())
    assert (group.place.rank, group.place.world_size, group.device) == (0, 1, torch.device("cpu"))


def test_one_device_vocabulary_with_one_error_message():
    assert [check_device_spec(text) for text in ("auto", "CPU", "cuda", "cuda:01")] == ["auto", "cpu", "cuda", "cuda:1"]
    for bad in ("gpu", "cuda:", "cuda:x", "mps"):
        with pytest.raises(InputError, match="device must be auto, cpu, cuda or cuda:N"):
            check_device_spec(bad)
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto", TorchrunEnv(1, 2, 1)) == torch.device("cpu")
        for spec in ("cuda", "cuda:0", torch.device("cuda")):
            with pytest.raises(InputError, match="was asked for, but no CUDA device is visible"):
                resolve_device(spec)
    else:
        count = torch.cuda.device_count()
        assert resolve_device("cuda", TorchrunEnv(1, 2, 1)) == torch.device("cuda", 1 % count)
        with pytest.raises(InputError, match=f"only {count} CUDA device"):
            resolve_device(f"cuda:{count}")
