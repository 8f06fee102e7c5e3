"""Typed configuration: dataclasses filled from YAML, with inheritance, overrides and named errors.

A YAML file may name a parent with ``_base_: other.yaml`` (relative to itself); its keys are merged
over the parent's, recursively. Command-line overrides look like ``train.lr=3e-4`` (the value is
parsed as YAML). Every unknown key or wrong type raises `ConfigError` naming the dotted key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from diffsal.errors import ConfigError

T = TypeVar("T")

BASE_KEY = "_base_"


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, resolving ``_base_`` inheritance."""
    return _load_yaml(Path(path), ())


def _load_yaml(path: Path, children: tuple[Path, ...]) -> dict[str, Any]:
    """`path` read and merged over its bases; `children` are the files that inherit from it (cycle check)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: config file not found") from error
    except IsADirectoryError as error:
        raise ConfigError(f"{path}: is a folder, expected a YAML recipe file") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not a text file (expected a YAML recipe)") from error
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror or error})") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML ({str(error).splitlines()[0]})") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    resolved = Path(os.path.realpath(path))
    if resolved in children:
        chain = " -> ".join(str(child) for child in (*children, resolved))
        raise ConfigError(f"{path}: {BASE_KEY} inheritance loops ({chain})")
    base = data.pop(BASE_KEY, None)
    if base is None:
        return data
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"{path}: {BASE_KEY} must name a YAML file, got {base!r}")
    return merge(_load_yaml(path.parent / base, (*children, resolved)), data)


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; values of `update` win."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` strings to a nested dict (values parsed as YAML)."""
    data = dict(data)
    for override in overrides:
        key, separator, text = override.partition("=")
        if not separator or not key:
            raise ConfigError(f"override {override!r} must look like key.sub=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"override {key}: cannot parse value {text!r}") from error
        data = merge(data, _nested(key.split("."), value))
    return data


def _nested(keys: list[str], value: Any) -> dict[str, Any]:
    return {keys[0]: _nested(keys[1:], value)} if len(keys) > 1 else {keys[0]: value}


def from_dict(cls: type[T], data: Any, prefix: str = "") -> T:
    """Build dataclass `cls` from a mapping, checking keys and types; errors name the dotted key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {type(data).__name__}")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{_join(prefix, unknown[0])}: unknown key (known: {', '.join(sorted(fields))})")
    hints = typing.get_type_hints(cls)
    values = {name: _convert(hints[name], value, _join(prefix, name)) for name, value in data.items()}
    try:
        return cls(**values)
    except TypeError as error:
        raise ConfigError(f"{prefix or 'config'}: {error}") from error


def to_dict(instance: Any) -> dict[str, Any]:
    """Plain nested dicts and lists (tuples become lists), ready for JSON or YAML."""
    return _plain(dataclasses.asdict(instance))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        errors = []
        for option in (argument for argument in arguments if argument is not type(None)):
            try:
                return _convert(option, value, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in arguments:
            raise ConfigError(f"{key}: must be one of {', '.join(map(repr, arguments))}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if origin is tuple and arguments and arguments[-1] is not Ellipsis:  # fixed length, e.g. tuple[int, int]
            if len(value) != len(arguments):
                raise ConfigError(f"{key}: expected {len(arguments)} items, got {len(value)}")
            return tuple(_convert(item_hint, item, f"{key}[{index}]")
                         for index, (item_hint, item) in enumerate(zip(arguments, value)))
        item_hint = arguments[0] if arguments else Any
        items = [_convert(item_hint, item, f"{key}[{index}]") for index, item in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, key)
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if hint is float:
        # YAML 1.1 reads "1e-4" (no dot) as a string; accept it as the number it obviously is.
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    return value
