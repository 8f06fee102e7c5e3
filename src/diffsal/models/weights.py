"""Reading weight files and matching them to a module, with errors that name the keys at fault."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pickle
import warnings

import torch
from torch import nn

from diffsal.errors import InputError


class WeightsError(InputError):
    """A weight file is missing, unreadable, or does not fit the model; the message names the keys."""


def load_torch_file(path: Path, map_location: str | torch.device = "cpu", what: str = "PyTorch weights file"):
    """`torch.load(path, weights_only=True)`: tensors and plain values only, never other Python objects.

    A file that refers to other objects (as a crafted pickle does to run code) is refused unopened.

    Raises:
        WeightsError: the file cannot be read, is damaged, or holds other objects.
    """
    try:
        with warnings.catch_warnings():  # torch warns about legacy (non-zip) files before refusing them
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if "GLOBAL" in str(error):  # the weights-only unpickler met a reference to a class or function
            raise WeightsError(f"{path}: not a {what}: it refers to Python objects other than tensors and plain "
                               "values (refused without running them)") from None
        raise WeightsError(f"{path}: not a readable {what} (damaged, or not written by torch.save)") from None
    except Exception as error:  # noqa: BLE001 - the unpickler raises whatever damaged bytes lead it to
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise WeightsError(f"{path}: not a readable {what} ({type(error).__name__}: {reason})") from None


def describe_keys(keys: Iterable[str], limit: int = 6) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def check_finite_weights(model: torch.nn.Module, source: str = "the model") -> None:
    """WeightsError naming the parameters or buffers of `model` that hold NaN or inf (its maps would be
    meaningless)."""
    bad = [name for name, tensor in (*model.named_parameters(), *model.named_buffers())
           if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if bad:
        raise WeightsError(f"{source}: the weights hold NaN or inf values ({describe_keys(bad, 3)}); its maps would "
                           "be meaningless: use another checkpoint")


def read_state_dict(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Read a `.safetensors` file or a PyTorch pickle holding a flat `{name: tensor}` state dict.

    A checkpoint that wraps its weights under `"state_dict"` or `"model"` is unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state = load_file(str(path), device=str(device))
        except Exception as error:  # noqa: BLE001 - safetensors raises several types for a damaged file
            raise WeightsError(f"{path}: not a readable safetensors file ({error})") from None
    else:
        state = load_torch_file(path, device)
        for wrapper in ("state_dict", "model"):
            if isinstance(state, Mapping) and isinstance(state.get(wrapper), Mapping):
                state = state[wrapper]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path}: expected a mapping of parameter names to tensors")
    return dict(state)


@dataclass
class LoadReport:
    """What happened to each key of a weight file loaded into a module."""

    loaded: list[str] = field(default_factory=list)
    interpolated: list[str] = field(default_factory=list)  # loaded after resizing (relative-position tables)
    ignored: list[str] = field(default_factory=list)  # in the file, deliberately not kept (e.g. a classifier)
    unexpected: list[str] = field(default_factory=list)  # in the file, unknown to the module
    missing: list[str] = field(default_factory=list)  # in the module, absent from the file
    mismatched: list[str] = field(default_factory=list)  # "key: file shape vs model shape"

    @property
    def ok(self) -> bool:
        return not (self.unexpected or self.missing or self.mismatched)

    def problems(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"missing {describe_keys(self.missing)}")
        if self.unexpected:
            parts.append(f"unexpected {describe_keys(self.unexpected)}")
        if self.mismatched:
            parts.append(f"shape mismatch {describe_keys(self.mismatched)}")
        return "; ".join(parts)


Resizer = Callable[[str, torch.Tensor, torch.Tensor], "torch.Tensor | None"]


def load_into(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    *,
    source: str,
    ignore: Callable[[str], bool] = lambda key: False,
    resize: Resizer | None = None,
    strict: bool = True,
) -> LoadReport:
    """Copy `state` into `module`'s parameters and persistent buffers.

    `ignore(key)` marks file keys that are dropped on purpose; `resize(key, file_tensor, model_tensor)` may
    return a resized tensor for a shape mismatch. With `strict`, any missing, unexpected or mismatched key
    raises `WeightsError` naming them and nothing is changed; otherwise the report lists them.
    """
    target = module.state_dict()
    report = LoadReport()
    updates: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if key not in target:
            (report.ignored if ignore(key) else report.unexpected).append(key)
            continue
        expected = target[key]
        if tensor.shape != expected.shape:
            resized = resize(key, tensor, expected) if resize is not None else None
            if resized is None or resized.shape != expected.shape:
                report.mismatched.append(f"{key}: {tuple(tensor.shape)} vs {tuple(expected.shape)}")
                continue
            report.interpolated.append(key)
            tensor = resized
        else:
            report.loaded.append(key)
        updates[key] = tensor
    report.missing = sorted(set(target) - set(state))
    if strict and not report.ok:
        raise WeightsError(f"{source} does not fit the model: {report.problems()}")
    with torch.no_grad():
        for key, tensor in updates.items():
            target[key].copy_(tensor.to(dtype=target[key].dtype))
    return report
