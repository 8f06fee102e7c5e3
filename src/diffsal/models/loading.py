"""Build or load a model of any registered architecture (`diffsal.models.saved_model.ARCHITECTURES`): the one
place the trainer, `predict`, `info`, `convert-published` and the studies get a model from."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import torch

from diffsal.errors import ConfigError, InputError
from diffsal.models.saved_model import CONFIG_NAME, WEIGHTS_NAME, SavedModel, model_class, read_saved_document
from diffsal.models.weights import LoadReport, WeightsError, load_into, read_state_dict


def build_model(config: Any) -> SavedModel:
    """A freshly initialised model of `config` (a `DiffSalConfig`, a `PublishedConfig`, ...)."""
    return model_class(config.architecture)(config)


def preset_or_saved_model(spec: str | Path, frames_out: int | None = None, *,
                          on_meta_device: bool = False) -> SavedModel:
    """The improved DiffSal of the preset named `spec` (`frames_out`: its K; `on_meta_device`: shapes only, no
    memory) or the model saved in the folder `spec`, in eval mode."""
    from diffsal.models.config import PRESETS, DiffSalConfig

    if str(spec) in PRESETS:
        config = DiffSalConfig.preset(str(spec))
        if frames_out is not None:
            config = dataclasses.replace(config, frames_out=frames_out)
        with torch.device("meta") if on_meta_device else contextlib.nullcontext():
            return build_model(config).eval()
    if frames_out is not None:
        raise InputError("--frames-out applies to a preset; a saved model has its own")
    if not Path(spec).is_dir():
        raise InputError(f"--model {str(spec)!r} is neither a preset ({', '.join(PRESETS)}) nor a model folder")
    return load_model(spec)


def saved_class(directory: str | Path) -> type[SavedModel]:
    """The class of the model saved in `directory` (from its `config.json`)."""
    document = read_saved_document(directory)
    try:
        return model_class(document["architecture"])
    except ConfigError as error:
        raise ConfigError(f"{Path(directory) / CONFIG_NAME}: {error}") from None


def read_model_config(directory: str | Path) -> tuple[Any, dict[str, Any]]:
    """The config of a saved model folder, whatever its architecture, and its `config.json` document."""
    return saved_class(directory).read_config(directory)


def load_model(directory: str | Path, map_location: str | torch.device = "cpu") -> SavedModel:
    """The model saved in `directory`, whatever its architecture, in eval mode."""
    return saved_class(directory).from_pretrained(directory, map_location=map_location)


def load_weights(model: torch.nn.Module, directory: str | Path, *, strict: bool = True) -> LoadReport:
    """Copy the weights of the saved model folder `directory` into `model` (strict: every key must fit)."""
    weights = Path(directory) / WEIGHTS_NAME
    if not weights.is_file():
        raise WeightsError(f"{weights} not found")
    return load_into(model, read_state_dict(weights), source=str(weights), strict=strict)
