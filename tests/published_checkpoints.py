"""Synthetic checkpoints in the layout of the released DiffSal `best.pth`, built from key manifests.

`tests/data/published/{visual,audio_visual}_manifest.json` list every tensor of the released files (name with
the `module.` prefix, shape, dtype and its role at inference: used / no_effect / not_run / buffer), measured by
running the published code with hooks. No weights, no code. Each tensor here is filled with a value of its own
(`marker(index)`), so a conversion that swaps two tensors of the same shape is caught; `random_released_state`
gives seeded weights of a realistic scale instead, for a network that has to compute finite maps.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

MANIFESTS = Path(__file__).parent / "data" / "published"
KIND_MANIFEST = {"av": "audio_visual_manifest.json", "visual": "visual_manifest.json"}


def manifest(kind: str) -> list[dict]:
    return json.loads((MANIFESTS / KIND_MANIFEST[kind]).read_text())["keys"]


def marker(index: int) -> float:
    """A value of tensor `index` that float32 holds exactly and no other tensor has."""
    return 1.0 + index / 1024


def released_state(kind: str) -> dict[str, torch.Tensor]:
    state = {}
    for index, entry in enumerate(manifest(kind)):
        dtype = getattr(torch, entry["dtype"])
        state[entry["key"]] = torch.full(entry["shape"], marker(index) if dtype.is_floating_point else index,
                                         dtype=dtype)
    return state


def random_released_state(kind: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded weights in the released layout: N(0, 1 / fan_in) for weights of two or more dimensions, 1 + 0.1 N for
    1-D weights (norm scales), 0.05 N for biases, tables and tokens, BatchNorm statistics 0 and 1."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for entry in manifest(kind):
        key, shape, dtype = entry["key"], entry["shape"], getattr(torch, entry["dtype"])
        name = key.rsplit(".", 1)[-1]
        if not dtype.is_floating_point or name == "running_mean":
            state[key] = torch.zeros(shape, dtype=dtype)
        elif name == "running_var":
            state[key] = torch.ones(shape, dtype=dtype)
        elif name == "weight" and len(shape) >= 2:
            fan_in = max(1, int(torch.tensor(shape[1:]).prod()))
            state[key] = torch.randn(shape, generator=generator, dtype=dtype) / fan_in**0.5
        elif name == "weight":
            state[key] = 1.0 + 0.1 * torch.randn(shape, generator=generator, dtype=dtype)
        else:
            state[key] = 0.05 * torch.randn(shape, generator=generator, dtype=dtype)
    return state


def write_released_checkpoint(path: Path, kind: str, *, optimizer: bool = True,
                              state: dict[str, torch.Tensor] | None = None) -> Path:
    """`torch.save({"state_dict", "optim_dict", "epoch", "step"})` as the published trainer writes it."""
    state = released_state(kind) if state is None else state
    content: dict = {"state_dict": state, "epoch": 3, "step": 12_345}
    if optimizer:
        first = next(iter(state.values()))
        content["optim_dict"] = {"state": {0: {"step": torch.tensor(1.0), "exp_avg": torch.zeros_like(first),
                                               "exp_avg_sq": torch.zeros_like(first)}},
                                 "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999), "params": [0]}]}
    torch.save(content, path)
    return path
