"""The network a recipe trains (its `model` section) and what its weights start from."""

from __future__ import annotations

from pathlib import Path

from diffsal.errors import ConfigError, InputError
from diffsal.models.config import DiffSalConfig
from diffsal.models.loading import build_model, load_weights, read_model_config
from diffsal.models.saved_model import CONFIG_NAME, WEIGHTS_NAME, SavedModel, model_class
from diffsal.models.weights import LoadReport, describe_keys
from diffsal.training.config import ModelSection
from diffsal.typed_config import merge


def model_from_recipe(section: ModelSection, resumed: Path | None = None) -> tuple[SavedModel, list[str]]:
    """The network of a recipe and messages on what its weights were initialised from.

    The recipe's network is the improved DiffSal of `preset` with `overrides`. A model folder of another
    architecture as `init_from` (a published model from `diffsal convert-published`) brings its own: its config
    with `overrides` applied, `preset` not used. `resumed` is the checkpoint a resumed run continues from.
    """
    if section.init_from is not None:
        saved, _ = read_model_config(section.init_from)
        if saved.architecture != DiffSalConfig.architecture:
            return _from_other_architecture(section, saved)
    base = DiffSalConfig.preset(section.preset).to_dict()
    # The relative-position tables keep the length of the weights they come from (a model saved before the paper
    # preset built them for 224x224 has tables of its clip size); re-interpolating them would change the model.
    for folder in (section.init_from, resumed):
        if folder is not None and (Path(folder) / CONFIG_NAME).is_file():
            saved, _ = read_model_config(folder)
            if saved.architecture == DiffSalConfig.architecture:
                base["video"]["rel_pos_size"] = saved.video.rel_pos_size
    try:
        config = DiffSalConfig.from_dict(merge(base, section.overrides))
    except ConfigError as error:
        raise ConfigError(f"model.overrides: {error}") from None
    model = build_model(config)
    notes = []
    reports = model.load_pretrained_encoders(video=section.video_weights, audio=section.audio_weights)
    for name, report in reports.items():
        notes.append(f"{name} encoder: {describe_load(report)}")
    if section.init_from is not None:
        report = load_weights(model, section.init_from, strict=False)
        if report.unexpected or report.mismatched:
            raise InputError(f"{Path(section.init_from) / WEIGHTS_NAME} does not fit the {section.preset} model: "
                             f"{report.problems()}")
        # Missing keys are expected when a video-only model initialises an audio-visual one.
        notes.append(f"initialised from {section.init_from}: {describe_load(report)}")
    return model, notes


def _from_other_architecture(section: ModelSection, saved_config) -> tuple[SavedModel, list[str]]:
    if section.video_weights is not None or section.audio_weights is not None:
        raise ConfigError(f"model.video_weights / model.audio_weights: {section.init_from} is "
                          f"{model_class(saved_config.architecture).description} ({saved_config.architecture}), "
                          "whose encoders come with it (leave them out)")
    try:
        config = type(saved_config).from_dict(merge(saved_config.to_dict(), section.overrides))
    except ConfigError as error:
        raise ConfigError(f"model.overrides: {error}") from None
    model = build_model(config)
    report = load_weights(model, section.init_from)
    return model, [f"{config.architecture} model (architecture and config from {section.init_from}; model.preset "
                   f"is not used): {describe_load(report)}"]


def describe_load(report: LoadReport) -> str:
    text = f"{len(report.loaded)} tensors loaded, {len(report.interpolated)} interpolated"
    if report.missing:
        text += f", left at their initial values: {describe_keys(report.missing)}"
    return text
