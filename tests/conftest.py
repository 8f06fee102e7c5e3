import os
from pathlib import Path

import pytest
import torch

# Tests run two workers on two cores: one thread each keeps them from fighting.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A saved micro DiffSal (seed 0), one per test module."""
    from test_predict import micro_config

    from diffsal.models import DiffSal

    torch.manual_seed(0)
    return DiffSal(micro_config()).save_pretrained(tmp_path_factory.mktemp("model") / "best")
