import json

import pytest
import torch

from diffsal.training.checkpoint import CheckpointStore
from diffsal.errors import InputError


def _writer(value):
    def write(folder):
        (folder / "config.json").write_text(json.dumps({"value": value}))
    return write


def test_links_point_to_complete_folders_and_old_ones_are_removed(tmp_path):
    store = CheckpointStore(tmp_path / "checkpoints")
    store.save(10, _writer(10), {"step": 10}, links=("last", "best"))
    store.save(20, _writer(20), {"step": 20})
    store.save(30, _writer(30), {"step": 30})
    assert store.path("last").name == "step-000030"
    assert store.path("best").name == "step-000010"
    names = sorted(entry.name for entry in (tmp_path / "checkpoints").iterdir())
    assert names == ["best", "last", "step-000010", "step-000030"]
    folder, state = store.load_training_state("last")
    assert state == {"step": 30} and json.loads((folder / "config.json").read_text()) == {"value": 30}


def test_a_crash_while_writing_keeps_the_previous_checkpoint(tmp_path):
    store = CheckpointStore(tmp_path)
    store.save(1, _writer(1), {"step": 1})

    def crashing_writer(folder):
        (folder / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.save(2, crashing_writer, {"step": 2})
    assert store.load_training_state()[1] == {"step": 1}
    store.save(3, _writer(3), {"step": 3})  # the leftover staging folder does not get in the way
    assert not any(entry.name.startswith(".staging") for entry in tmp_path.iterdir())


def test_missing_or_corrupt_state_is_an_input_error(tmp_path):
    store = CheckpointStore(tmp_path)
    with pytest.raises(InputError, match="no checkpoint to resume from"):
        store.load_training_state()
    folder = store.save(5, _writer(5), {"step": 5})
    (folder / "training_state.pt").write_bytes(b"garbage")
    with pytest.raises(InputError, match="not a readable diffsal training state"):
        store.load_training_state()


def test_tensors_round_trip(tmp_path):
    store = CheckpointStore(tmp_path)
    store.save(1, _writer(1), {"weights": torch.arange(4.0)})
    assert torch.equal(store.load_training_state()[1]["weights"], torch.arange(4.0))
