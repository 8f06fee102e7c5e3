"""The saved-model folder every architecture uses: `model.safetensors` (the tensors inference uses, nothing else)
and `config.json` (`{"format": "diffsal", "format_version": 1, "architecture": ..., "config": {...}}`).

`ARCHITECTURES` registers every model class by the name `config.json` gives it; `SavedModel` is the one
`save_pretrained` / `read_config` / `from_pretrained` they share. A new architecture is one module whose class
mixes in `SavedModel`, plus one entry here. `diffsal.models.loading` builds and loads any of them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from diffsal.errors import ConfigError, InputError
from diffsal.io.atomic import atomic_output
from diffsal.models.weights import WeightsError, load_into, read_state_dict

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
FORMAT_VERSION = 1
DEFAULT_ARCHITECTURE = "diffsal"  # folders written before the field existed hold the improved DiffSal

# The `architecture` of config.json -> the class that builds, saves and loads it ("module:Class", imported when
# first asked for, so that loading one architecture does not import the others).
ARCHITECTURES = {
    "diffsal": "diffsal.models.diffsal:DiffSal",
    "published-av": "diffsal.models.published.model:PublishedDiffSal",
    "published-visual": "diffsal.models.published.model:PublishedDiffSal",
}


def model_class(architecture: str) -> type[SavedModel]:
    """The model class of an `architecture` name (as written in `config.json`)."""
    if architecture not in ARCHITECTURES:
        raise ConfigError(f"unknown model architecture {architecture!r}; this diffsal knows "
                          f"{', '.join(ARCHITECTURES)}")
    module, _, name = ARCHITECTURES[architecture].partition(":")
    return getattr(importlib.import_module(module), name)


def write_saved_model(module: nn.Module, directory: str | Path, document: dict[str, Any]) -> Path:
    """Write `module`'s state dict and `document` (the architecture-specific part of `config.json`) atomically."""
    from safetensors.torch import save

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().contiguous().cpu() for key, value in module.state_dict().items()}
    # Serialised in memory, written by Python: a full disk is then an OSError that says so. One metadata
    # key: safetensors stores the metadata map in no fixed order, and equal weights must give equal files.
    encoded = save(state, metadata={"format": f"diffsal {FORMAT_VERSION}"})
    with atomic_output(directory / WEIGHTS_NAME) as temporary:
        temporary.write_bytes(encoded)
    full = {"format": "diffsal", "format_version": FORMAT_VERSION, **document}
    with atomic_output(directory / CONFIG_NAME) as temporary:
        temporary.write_text(json.dumps(full, indent=2) + "\n")
    return directory


def weights_sha256(directory: str | Path, chunk_bytes: int = 1 << 22) -> str:
    """The SHA-256 of a saved model's `model.safetensors`: which weights made a result."""
    digest = hashlib.sha256()
    with open(Path(directory) / WEIGHTS_NAME, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def read_saved_document(directory: str | Path) -> dict[str, Any]:
    """The checked `config.json` of a saved model folder (its `architecture` filled in for old folders)."""
    directory = Path(directory)
    path = directory / CONFIG_NAME
    if not directory.is_dir():
        if directory.is_file():
            raise InputError(f"{directory}: is a file; a model is the folder that holds {CONFIG_NAME} and "
                             f"{WEIGHTS_NAME}")
        raise InputError(f"model directory not found: {directory}")
    if not path.is_file():
        if (directory / "checkpoints" / "best").is_dir():
            raise InputError(f"{directory} is a training run, not a model folder; use --model "
                             f"{directory / 'checkpoints' / 'best'}")
        raise InputError(f"{path} not found (a saved model has {CONFIG_NAME} and {WEIGHTS_NAME})")
    try:
        document = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(document, dict) or document.get("format") != "diffsal" or "config" not in document:
        raise ConfigError(f"{path}: not a diffsal model config (expected keys 'format': 'diffsal' and 'config')")
    if document.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path}: format_version {document.get('format_version')!r} is not supported "
                          f"(this diffsal reads {FORMAT_VERSION})")
    document.setdefault("architecture", DEFAULT_ARCHITECTURE)
    if not isinstance(document["architecture"], str):
        raise ConfigError(f"{path}: 'architecture' must be a string, got {document['architecture']!r}")
    return document


class SavedModel:
    """Saving and loading for a model class: `config_class` (with `from_dict`, `to_dict` and `architecture`)
    describes the network; `saved_extras` / `restore_extras` carry what a class keeps beside its config."""

    config_class: ClassVar[type]
    description: ClassVar[str]  # the network in words, for messages ("the improved DiffSal")
    config: Any

    @property
    def architecture(self) -> str:
        return self.config.architecture

    def saved_extras(self) -> dict[str, Any]:
        """Entries of `config.json` beside the config (e.g. how the weights were initialised)."""
        return {}

    def restore_extras(self, document: dict[str, Any]) -> None:
        """Apply the `saved_extras` of a loaded `config.json` document."""

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write `model.safetensors` (every tensor inference uses, nothing else) and `config.json`."""
        return write_saved_model(self, directory, {"architecture": self.architecture,
                                                   "config": self.config.to_dict(), **self.saved_extras()})

    @classmethod
    def read_config(cls, directory: str | Path) -> tuple[Any, dict[str, Any]]:
        """The config of a saved model folder of this class and the whole `config.json` document."""
        document = read_saved_document(directory)
        path = Path(directory) / CONFIG_NAME
        architecture = document["architecture"]
        try:
            holder = model_class(architecture)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None
        if holder is not cls:
            raise ConfigError(f"{path}: holds a {architecture!r} model, not {cls.description} (load it with "
                              "diffsal.models.loading.load_model)")
        try:
            config = cls.config_class.from_dict(document["config"])
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None
        if config.architecture != architecture:
            raise ConfigError(f"{path}: 'architecture' {architecture!r} differs from the config's "
                              f"{config.architecture!r}")
        return config, document

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str | torch.device = "cpu"):
        """Build from `config.json` and load `model.safetensors`, in eval mode; mismatched weights raise
        `WeightsError` naming the keys."""
        config, document = cls.read_config(directory)
        weights = Path(directory) / WEIGHTS_NAME
        if not weights.is_file():
            raise WeightsError(f"{weights} not found")
        state = read_state_dict(weights, device=map_location)
        model = cls(config)
        model.to(map_location)
        load_into(model, state, source=str(weights))
        model.restore_extras(document)
        model.eval()
        return model
