from dataclasses import dataclass, field
from typing import Literal

import pytest

from diffsal.errors import ConfigError
from diffsal.typed_config import apply_overrides, from_dict, load_yaml, to_dict


@dataclass
class Optim:
    lr: float = 1e-4
    name: Literal["adam", "adamw"] = "adam"
    milestones: tuple[float, ...] = (0.5, 0.75)
    pool: tuple[int, int] = (3, 6)


@dataclass
class Run:
    steps: int = 10
    resume: bool = False
    weights: str | None = None
    optim: Optim = field(default_factory=Optim)


def test_nested_dataclass_from_dict_with_conversions():
    run = from_dict(Run, {"steps": 5, "weights": "w", "optim": {"lr": "3e-4", "milestones": [0.3], "pool": [2, 4]}})
    assert run.steps == 5 and run.weights == "w"
    assert run.optim.lr == pytest.approx(3e-4) and run.optim.milestones == (0.3,) and run.optim.pool == (2, 4)
    assert to_dict(run)["optim"]["pool"] == [2, 4]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"step": 5}, "step: unknown key"),
        ({"steps": "five"}, "steps: expected an integer"),
        ({"steps": True}, "steps: expected an integer"),
        ({"resume": "yes"}, "resume: expected true/false"),
        ({"optim": {"lr": "fast"}}, "optim.lr: expected a number"),
        ({"optim": {"name": "sgd"}}, "optim.name: must be one of 'adam', 'adamw'"),
        ({"optim": {"pool": [1, 2, 3]}}, r"optim.pool: expected 2 items"),
        ({"optim": {"milestones": [0.5, "x"]}}, r"optim.milestones\[1\]: expected a number"),
        ({"optim": 3}, "optim: expected a mapping"),
    ],
)
def test_errors_name_the_dotted_key(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Run, data)


def test_yaml_inheritance_and_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("steps: 3\noptim:\n  lr: 0.1\n  name: adamw\n")
    (tmp_path / "child.yaml").write_text("_base_: base.yaml\noptim:\n  lr: 0.2\n")
    data = load_yaml(tmp_path / "child.yaml")
    assert data == {"steps": 3, "optim": {"lr": 0.2, "name": "adamw"}}
    data = apply_overrides(data, ["optim.lr=5e-3", "resume=true", "weights=null"])
    run = from_dict(Run, data)
    assert run.optim.lr == pytest.approx(5e-3) and run.optim.name == "adamw" and run.resume and run.weights is None


def test_bad_files_and_overrides(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_yaml(tmp_path / "absent.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_yaml(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_yaml(tmp_path / "broken.yaml")
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides({}, ["no_equals_sign"])
