"""`diffsal train` on hostile and careless input: no code runs from files, no run is lost, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import assert_rejected, folder_state, tiny_disk

from diffsal.training.config import load_train_config
from diffsal.training.data import build_datasets
from diffsal.models.config import DiffSalConfig
from diffsal.synth.benchmark import SynthConfig, generate_benchmark

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    generate_benchmark(root, SynthConfig(num_videos=6, seed=3, width=112, height=64, seconds=2.0, num_observers=6))
    return root


def _overrides(root, out_dir, steps=2, **extra) -> list[str]:
    values = {"out_dir": out_dir, "model.preset": "tiny", "data.root": root, "data.train_stride": 8,
              "data.validation_fraction": 0.2, "data.validation_stride": 25, "data.num_workers": 0,
              "train.batch_size": 2, "train.max_steps": steps, "train.eval_every": 1000,
              "train.checkpoint_every": 1000, "train.log_every": 1, **extra}
    return [f"{key}={value}" for key, value in values.items()]


def _link_and_bytes(run_dir: Path) -> tuple[str, bytes]:
    last = run_dir / "checkpoints" / "last"
    return os.readlink(last), (last / "model.safetensors").read_bytes()


@pytest.fixture(scope="module")
def finished_run(synthetic_root, tmp_path_factory):
    from diffsal.cli import main

    run_dir = tmp_path_factory.mktemp("runs") / "finished"
    assert main(["train", *_overrides(synthetic_root, run_dir)]) == 0
    return run_dir


class _Payload:
    """Unpickling this object runs `touch MARKER`: what a crafted training_state.pt could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_training_state_is_refused_without_running_it(cli, synthetic_root, finished_run, tmp_path):
    run_dir = tmp_path / "hostile"
    subprocess.run(["cp", "-a", str(finished_run), str(run_dir)], check=True)
    marker = tmp_path / "code-ran"
    state_file = run_dir / "checkpoints" / "last" / "training_state.pt"
    torch.save({"step": 1, "model": _Payload(marker)}, state_file)
    outcome = cli("train", *_overrides(synthetic_root, run_dir, steps=3), "--resume")
    assert_rejected(outcome, "training_state.pt", "refused")
    assert not marker.exists()


def test_a_fresh_run_never_replaces_a_finished_one(cli, synthetic_root, finished_run):
    before = _link_and_bytes(finished_run)
    files_before = folder_state(finished_run)
    outcome = cli("train", *_overrides(synthetic_root, finished_run))
    assert_rejected(outcome, str(finished_run), "--resume", "--overwrite")
    assert _link_and_bytes(finished_run) == before
    assert folder_state(finished_run) == files_before  # the refused run changed no file


def test_overwrite_starts_again_with_a_clean_log(cli, synthetic_root, finished_run, tmp_path):
    run_dir = tmp_path / "again"
    subprocess.run(["cp", "-a", str(finished_run), str(run_dir)], check=True)
    (run_dir / "notes.txt").write_text("mine")
    outcome = cli("train", *_overrides(synthetic_root, run_dir, steps=3), "--overwrite")
    assert outcome.exit_code == 0, outcome.stderr
    steps = [line for line in (run_dir / "log.jsonl").read_text().splitlines() if '"kind": "train"' in line]
    assert len(steps) == 3
    assert (run_dir / "notes.txt").read_text() == "mine"
    assert_rejected(cli("train", *_overrides(synthetic_root, run_dir), "--overwrite", "--resume"), "--resume")


def test_a_folder_that_is_not_a_run_is_refused(cli, synthetic_root, tmp_path):
    (tmp_path / "data.csv").write_text("1,2")
    assert_rejected(cli("train", *_overrides(synthetic_root, tmp_path)), "not a training run", "data.csv")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.csv"]


def test_a_run_killed_before_its_first_checkpoint_can_start_again(cli, synthetic_root, tmp_path):
    run_dir = tmp_path / "killed"
    run_dir.mkdir()
    (run_dir / "log.jsonl").write_text('{"kind": "train", "step": 1, "loss": 9.0}\n{"kind": "tra')
    (run_dir / "checkpoints").mkdir()
    (run_dir / "checkpoints" / ".staging-step-000001").mkdir()
    assert cli("train", *_overrides(synthetic_root, run_dir)).exit_code == 0
    losses = [line for line in (run_dir / "log.jsonl").read_text().splitlines() if '"kind": "train"' in line]
    assert len(losses) == 2 and '"loss": 9.0' not in losses[0]


BAD_RECIPES = {
    "folder": (lambda tmp: tmp, "is a folder"),
    "binary": (lambda tmp: _write(tmp / "r.yaml", bytes(range(256))), "not a text file"),
    "cycle": (lambda tmp: _cycle(tmp), "loops"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _cycle(tmp: Path) -> Path:
    (tmp / "a.yaml").write_text("_base_: b.yaml\n")
    (tmp / "b.yaml").write_text("_base_: a.yaml\n")
    return tmp / "a.yaml"


@pytest.mark.parametrize("case", sorted(BAD_RECIPES))
def test_a_bad_recipe_file_is_one_line(cli, tmp_path, case):
    make, fragment = BAD_RECIPES[case]
    assert_rejected(cli("train", "--config", make(tmp_path)), fragment)


@pytest.mark.parametrize("override, fragment", [
    ("optim.betas=[2,3]", "optim.betas"),
    ("optim.weight_decay=-1", "optim.weight_decay"),
    ("optim.lr=.nan", "optim.lr"),
    ("optim.grad_clip=.inf", "optim.grad_clip"),
    ("optim.milestones=[0.8,0.2]", "optim.milestones"),
    ("train.sampling_steps=0", "train.sampling_steps"),
    ("data.split=4", "data.split"),
    ("data.validation_seed=-1", "data.validation_seed"),
    ("train.frobnicate=1", "train.frobnicate"),
    ("train.seed=18446744073709551616", "train.seed"),
    ("train.batch_size=100000000000000000000", "train.batch_size"),
    ("data.num_workers=100000", "data.num_workers"),
])
def test_a_bad_value_is_caught_before_any_work(cli, synthetic_root, tmp_path, override, fragment):
    outcome = cli("train", *_overrides(synthetic_root, tmp_path / "run"), override)
    assert_rejected(outcome, fragment)
    assert not (tmp_path / "run").exists()


def test_out_dir_that_is_a_file_is_one_line(cli, synthetic_root, tmp_path):
    (tmp_path / "file").write_text("x")
    assert_rejected(cli("train", *_overrides(synthetic_root, tmp_path / "file")), "is a file")
    assert_rejected(cli("train", *_overrides(synthetic_root, tmp_path / "file" / "run")), "is a file")


def test_a_corrupt_frame_read_by_a_worker_is_one_line(cli, synthetic_root, tmp_path):
    root = tmp_path / "data"
    subprocess.run(["cp", "-a", str(synthetic_root), str(root)], check=True)
    for frames in (root / "video_frames" / "Synthetic").iterdir():
        for frame in frames.glob("img_*.jpg"):
            frame.write_bytes(b"not a jpeg")
    outcome = cli("train", *_overrides(root, tmp_path / "run", **{"data.num_workers": 1}))
    assert_rejected(outcome, "img_", "corrupt")
    assert "DataLoader worker" not in outcome.stderr


def test_a_full_disk_names_the_disk_and_keeps_no_half_checkpoint(cli, synthetic_root, tmp_path):
    with tiny_disk(tmp_path / "disk", "8m") as disk:
        run_dir = disk / "run"
        outcome = cli("train", *_overrides(synthetic_root, run_dir))
        line = assert_rejected(outcome, "No space left on device")
        assert "internal error" not in line and "no checkpoint was written yet" in line and "start the run again" in line
        checkpoints = run_dir / "checkpoints"
        assert not checkpoints.exists() or not [entry for entry in checkpoints.iterdir()
                                                if entry.name.startswith((".staging", "step-"))]


def test_validation_videos_follow_validation_seed_not_the_training_seed(synthetic_root, tmp_path):
    def held_out(*overrides: str) -> list[str]:
        config = load_train_config(None, [f"data.root={synthetic_root}", "data.validation_fraction=0.5",
                                          *overrides])
        _, validation = build_datasets(config.data, DiffSalConfig.preset("tiny"), config.train.seed,
                                       config.validation_seed)
        return sorted(record.video for record in validation.records)

    fixed = held_out("train.seed=0", "data.validation_seed=5")
    assert held_out("train.seed=1", "data.validation_seed=5") == fixed
    choices = {tuple(held_out(f"data.validation_seed={seed}")) for seed in range(6)}
    assert len(choices) > 1, "the seed should change which videos are held out"


def test_the_split_script_gives_every_split_its_own_folder(tmp_path):
    calls = tmp_path / "calls.txt"
    fake = tmp_path / "bin" / "diffsal"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    environment = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    script = str(REPOSITORY / "scripts" / "av_finetune_splits.sh")
    subprocess.run(["bash", script, "runs/pre", "out_dir=runs/mine", "--resume", "optim.lr=1e-5"], check=True,
                   env=environment, cwd=tmp_path)
    lines = calls.read_text().splitlines()
    assert len(lines) == 3
    for split, line in enumerate(lines, start=1):
        words = line.split()
        assert [word for word in words if word.startswith("out_dir=")] == [f"out_dir=runs/mine/split{split}"]
        assert f"data.split={split}" in words and "optim.lr=1e-5" in words
        assert words[-1] == "--resume", "options after every key=value, where argparse accepts them"
    refused = subprocess.run(["bash", script, "runs/pre", "data.split=2"], env=environment, cwd=tmp_path,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "data.split=2 is set by this script" in refused.stderr


def test_a_resumed_run_logs_each_step_once(cli, synthetic_root, finished_run, tmp_path):
    run_dir = tmp_path / "resumed"
    subprocess.run(["cp", "-a", str(finished_run), str(run_dir)], check=True)
    with open(run_dir / "log.jsonl", "a") as log:  # what a run killed after step 2's checkpoint had logged
        log.write('{"kind": "train", "step": 3, "loss": 99.0}\n{"kind": "train", "step": 4, "lo')
    assert cli("train", *_overrides(synthetic_root, run_dir, steps=4), "--resume").exit_code == 0
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    train_records = [record for record in records if record["kind"] == "train"]
    assert [record["step"] for record in train_records] == [1, 2, 3, 4]
    assert 99.0 not in [record["loss"] for record in train_records]


def test_skip_bad_trains_on_the_good_videos_and_stops_without_it(cli, synthetic_root, tmp_path):
    root = tmp_path / "data"
    subprocess.run(["cp", "-a", str(synthetic_root), str(root)], check=True)
    broken, also_broken = sorted((root / "video_frames" / "Synthetic").iterdir())[:2]
    (broken / "img_00003.jpg").unlink()  # a gap in the numbering: found when the dataset is built
    (also_broken / "img_00004.jpg").unlink()
    assert_rejected(cli("train", *_overrides(root, tmp_path / "strict")), "2 video(s) with problems", broken.name,
                    also_broken.name, "data.skip_bad")
    assert not (tmp_path / "strict").exists()
    outcome = cli("train", *_overrides(root, tmp_path / "lenient", **{"data.skip_bad": "true"}))
    assert outcome.exit_code == 0, outcome.stderr
    assert broken.name in outcome.stderr  # the warning names what was left out


@pytest.mark.parametrize("change", ["model.overrides.unet.fuse_channels=16", "optim.name=sgd", "train.seed=3"])
def test_resume_with_another_recipe_is_refused_before_any_work(cli, synthetic_root, finished_run, change):
    before = _link_and_bytes(finished_run)
    files_before = folder_state(finished_run)
    outcome = cli("train", *_overrides(synthetic_root, finished_run, steps=4), change, "--resume")
    assert_rejected(outcome, "differs from the run's config.yaml", change.split("=")[0], "--overwrite")
    assert _link_and_bytes(finished_run) == before
    assert folder_state(finished_run) == files_before


def test_resume_may_extend_the_run(cli, synthetic_root, finished_run, tmp_path):
    run_dir = tmp_path / "longer"
    subprocess.run(["cp", "-a", str(finished_run), str(run_dir)], check=True)
    outcome = cli("train", *_overrides(synthetic_root, run_dir, steps=3, **{"train.log_every": 2}), "--resume")
    assert outcome.exit_code == 0, outcome.stderr
    assert os.readlink(run_dir / "checkpoints" / "last") == "step-000003"


@pytest.mark.parametrize("entry, make", [("checkpoints", "file"), ("log.jsonl", "folder"), ("tensorboard", "file")])
def test_a_run_folder_entry_of_the_wrong_kind_is_refused_before_training(cli, synthetic_root, tmp_path, entry, make):
    run_dir = tmp_path / "odd"
    run_dir.mkdir()
    (run_dir / entry).mkdir() if make == "folder" else (run_dir / entry).write_text("x")
    assert_rejected(cli("train", *_overrides(synthetic_root, run_dir)), str(run_dir / entry), f"is a {make}")
