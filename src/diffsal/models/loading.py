"""Build or load a model of any architecture: the improved DiffSal or the published family."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from diffsal.errors import ConfigError
from diffsal.models.saved_model import CONFIG_NAME, read_saved_document

ARCHITECTURES = ("diffsal", "published-av", "published-visual")


def model_class(architecture: str) -> type:
    """The model class of an `architecture` name (as written in `config.json`)."""
    if architecture == "diffsal":
        from diffsal.models.diffsal import DiffSal

        return DiffSal
    if architecture in ("published-av", "published-visual"):
        from diffsal.models.published.model import PublishedDiffSal

        return PublishedDiffSal
    raise ConfigError(f"unknown model architecture {architecture!r}; this diffsal knows {', '.join(ARCHITECTURES)}")


def build_model(config: Any) -> torch.nn.Module:
    """A freshly initialised model of `config` (a `DiffSalConfig` or a `PublishedConfig`)."""
    return model_class(getattr(config, "architecture", "diffsal"))(config)


def read_model_config(directory: str | Path) -> tuple[Any, dict[str, Any]]:
    """The config (`DiffSalConfig` or `PublishedConfig`) of a saved model folder and its `config.json` document."""
    document = read_saved_document(directory)
    try:
        cls = model_class(document["architecture"])
    except ConfigError as error:
        raise ConfigError(f"{Path(directory) / CONFIG_NAME}: {error}") from None
    return cls.read_config(directory)


def load_model(directory: str | Path, map_location: str | torch.device = "cpu") -> torch.nn.Module:
    """The model saved in `directory`, whatever its architecture, in eval mode."""
    document = read_saved_document(directory)
    try:
        cls = model_class(document["architecture"])
    except ConfigError as error:
        raise ConfigError(f"{Path(directory) / CONFIG_NAME}: {error}") from None
    return cls.from_pretrained(directory, map_location=map_location)
