"""The saved-model folder every architecture uses: `model.safetensors` (the tensors inference uses, nothing else)
and `config.json` (`{"format": "diffsal", "format_version": 1, "architecture": ..., "config": {...}}`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from diffsal.errors import ConfigError, InputError
from diffsal.io.atomic import atomic_output

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
FORMAT_VERSION = 1
DEFAULT_ARCHITECTURE = "diffsal"  # folders written before the field existed hold the improved DiffSal


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
