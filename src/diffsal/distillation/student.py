"""The student network: a preset or a saved model, seeded from the teacher's encoders where they fit.

Seeding copies every tensor of the teacher's video encoder (``video_encoder.*``) and audio trunk
(``audio_encoder.trunk.*``, VGGish) whose name and shape the student shares; relative-position tables of another
length are resized as when Kinetics weights load. When the student preset has the teacher's video encoder widths,
depths and heads (the paper preset and a published teacher: MViTv2-S), the student takes the teacher's whole video
encoder config (its stage norms and epsilons), so that every tensor is copied. An encoder copied whole is frozen:
it stays the teacher's, bit for bit, and only the rest of the student learns. A partly seeded encoder trains.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from diffsal.distillation.recipe import StudentSection
from diffsal.errors import ConfigError, InputError
from diffsal.models.config import PRESETS, DiffSalConfig
from diffsal.models.loading import build_model, load_model
from diffsal.models.saved_model import SavedModel
from diffsal.models.video import REL_POS_SUFFIXES, resize_rel_pos
from diffsal.models.weights import load_into
from diffsal.typed_config import merge

SEEDED_PARTS = {"video encoder": "video_encoder.", "audio trunk": "audio_encoder.trunk."}


def build_student(section: StudentSection, teacher: SavedModel | None, one_step: bool) -> tuple[SavedModel, list[str]]:
    """The student (seeded from `teacher` when there is one and the recipe asks) and notes on what it starts from.

    `one_step`: the student is a direct regressor (the kl_cc loss); its config samples one DDIM step.
    """
    if section.model in PRESETS:
        model = build_model(_preset_config(section, teacher))
        origin = f"student: the {section.model} preset"
    else:
        if section.overrides:
            raise ConfigError(f"student.overrides apply to a preset; {section.model} is a saved model with its own "
                              "config")
        if not Path(section.model).is_dir():
            raise InputError(f"student.model {section.model!r} is neither a preset ({', '.join(PRESETS)}) "
                             "nor a model folder")
        model = load_model(section.model).train()
        origin = f"student: {section.model}"
    if one_step:
        model.config.diffusion.sampling_steps = 1
    notes = [origin]
    if teacher is not None and section.seed_from_teacher:
        notes += seed_from_teacher(model, teacher)
    return model, notes


def _preset_config(section: StudentSection, teacher: SavedModel | None) -> DiffSalConfig:
    base = DiffSalConfig.preset(section.model).to_dict()
    try:
        config = DiffSalConfig.from_dict(merge(base, section.overrides))
    except ConfigError as error:
        raise ConfigError(f"student.overrides: {error}") from None
    teacher_video = getattr(getattr(teacher, "config", None), "video", None)
    if section.seed_from_teacher and teacher_video is not None and all(
            tuple(getattr(teacher_video, name)) == tuple(getattr(config.video, name))
            for name in ("channels", "depths", "num_heads")):
        config = dataclasses.replace(config, video=dataclasses.replace(teacher_video))
    return config


def seed_from_teacher(student: SavedModel, teacher: SavedModel) -> list[str]:
    """Copy the teacher's encoder tensors that fit into `student`, freeze an encoder copied whole; notes."""
    student_state = student.state_dict()
    fitting: dict[str, torch.Tensor] = {}
    for key, tensor in teacher.state_dict().items():
        if not key.startswith(tuple(SEEDED_PARTS.values())) or key not in student_state:
            continue
        expected = student_state[key]
        if tensor.shape == expected.shape:
            fitting[key] = tensor
        elif key.endswith(REL_POS_SUFFIXES) and tensor.dim() == 2 and tensor.shape[1] == expected.shape[1]:
            fitting[key] = resize_rel_pos(tensor, expected.shape[0])
    load_into(student, fitting, source="the teacher", strict=False)
    notes = []
    for name, prefix in SEEDED_PARTS.items():
        part = [key for key in student_state if key.startswith(prefix)]
        copied = [key for key in part if key in fitting]
        if not part:
            continue
        whole = len(copied) == len(part)
        if whole:
            _freeze(student, prefix)
        state = "copied whole and frozen" if whole else f"{len(copied)} of {len(part)} tensors copied"
        notes.append(f"{name}: {state} from the teacher")
    return notes


def _freeze(student: SavedModel, prefix: str) -> None:
    if prefix == SEEDED_PARTS["audio trunk"]:
        student.audio_encoder.trunk_pretrained = True  # saved with the model; a reloaded student keeps it frozen
        student.audio_encoder.freeze_trunk()
        return
    for name, parameter in student.named_parameters():
        if name.startswith(prefix):
            parameter.requires_grad_(False)
