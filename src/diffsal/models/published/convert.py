"""Convert a released DiffSal `best.pth` into a `PublishedDiffSal` (then saved as an ordinary model folder).

The released file is `torch.save({"state_dict", "optim_dict", "epoch", "step"})` of a DistributedDataParallel
model (every key starts with `module.`). It is read with `torch.load(weights_only=True)` only. Each key is
renamed (and, for four kinds of tensor, reshaped) onto this package's modules; the tensors the published network
holds but never uses are dropped by name, with the optimizer state:

- always: VGGish's fully connected layers `audio_net.embeddings.*` and the wrapper's `fc.*` (never run), the audio
  transformer's patch and position embedding `spatiotemp_net.to_patch_embedding.*`, `.pos_embedding` (computed,
  then discarded by the published forward);
- visual-only model: the noise branch and time MLP (`decoder_net.temb/conv_in/down1/res_encoder.*`: its output
  is never read, so the map does not depend on S_t or t) and the MIM convs `...align_conv.*` (never run).

Any other key that has no place in the model, and any tensor of the model the file does not fill, is an error
that names it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from diffsal.errors import InputError
from diffsal.io.paths import check_input_path, check_output_folder
from diffsal.models.published.config import PublishedConfig
from diffsal.models.published.model import PublishedDiffSal
from diffsal.models.saved_model import CONFIG_NAME, WEIGHTS_NAME
from diffsal.models.weights import (
    WeightsError,
    check_finite_weights,
    describe_keys,
    load_into,
    load_torch_file,
)

KINDS = ("av", "visual")

# (pattern on the key without "module.", replacement) — the first match wins.
RENAMES: list[tuple[str, str]] = [
    # MViTv2-S (mmaction2 names -> torchvision's, as VideoEncoder keeps them)
    (r"^visual_net\.cls_token$", "video_encoder.pos_encoding.class_token"),
    (r"^visual_net\.patch_embed\.projection\.", "video_encoder.conv_proj."),
    (r"^visual_net\.norm([0-3])\.", r"video_encoder.stage_norms.\1."),
    (r"^visual_net\.blocks\.(\d+)\.attn\.proj\.", r"video_encoder.blocks.\1.attn.project.0."),
    (r"^visual_net\.blocks\.(\d+)\.attn\.pool_([qkv])\.weight$", r"video_encoder.blocks.\1.attn.pool_\2.pool.weight"),
    (r"^visual_net\.blocks\.(\d+)\.attn\.norm_([qkv])\.", r"video_encoder.blocks.\1.attn.pool_\2.norm_act.0."),
    (r"^visual_net\.blocks\.(\d+)\.mlp\.fc1\.", r"video_encoder.blocks.\1.mlp.0."),
    (r"^visual_net\.blocks\.(\d+)\.mlp\.fc2\.", r"video_encoder.blocks.\1.mlp.3."),
    (r"^visual_net\.blocks\.(\d+)\.proj\.", r"video_encoder.blocks.\1.project."),
    (r"^visual_net\.blocks\.", "video_encoder.blocks."),
    # audio: VGGish trunk and the one-layer transformer
    (r"^audio_net\.features\.", "audio_encoder.trunk.features."),
    (r"^spatiotemp_net\.transformer\.layers\.0\.0\.norm\.", "audio_encoder.attention.norm."),
    (r"^spatiotemp_net\.transformer\.layers\.0\.0\.to_qkv\.", "audio_encoder.attention.qkv."),
    (r"^spatiotemp_net\.transformer\.layers\.0\.0\.to_out\.0\.", "audio_encoder.attention.out."),
    (r"^spatiotemp_net\.transformer\.layers\.0\.1\.net\.0\.", "audio_encoder.feed_forward.norm."),
    (r"^spatiotemp_net\.transformer\.layers\.0\.1\.net\.1\.", "audio_encoder.feed_forward.fc1."),
    (r"^spatiotemp_net\.transformer\.layers\.0\.1\.net\.4\.", "audio_encoder.feed_forward.fc2."),
    (r"^spatiotemp_net\.transformer\.norm\.", "audio_encoder.norm."),
    # Saliency-UNet: time MLP and noise branch
    (r"^decoder_net\.temb\.dense\.([01])\.", r"saliency_unet.time_mlp.\1."),
    (r"^decoder_net\.conv_in\.", "saliency_unet.noise_encoder.stem."),
    (r"^decoder_net\.down1\.conv\.", "saliency_unet.noise_encoder.patchify."),
    (r"^decoder_net\.res_encoder\.(\d)\.0\.temb_proj\.", r"saliency_unet.noise_encoder.blocks.\1.time_proj."),
    (r"^decoder_net\.res_encoder\.(\d)\.0\.nin_shortcut\.", r"saliency_unet.noise_encoder.blocks.\1.skip."),
    (r"^decoder_net\.res_encoder\.(\d)\.0\.", r"saliency_unet.noise_encoder.blocks.\1."),
    (r"^decoder_net\.res_encoder\.(\d)\.1\.conv\.", r"saliency_unet.noise_encoder.downsamples.\1.conv."),
    # Saliency-UNet: decoder stages
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.patch_embed\.0\.proj\.1\.", r"saliency_unet.stages.\1.up.conv1."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.patch_embed\.0\.proj\.2\.", r"saliency_unet.stages.\1.up.norm1."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.patch_embed\.0\.proj\.4\.", r"saliency_unet.stages.\1.up.conv2."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.patch_embed\.0\.proj\.5\.", r"saliency_unet.stages.\1.up.norm2."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.blocks\.0\.norm\.", r"saliency_unet.stages.\1.norm."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.blocks\.0\.norm2\.", r"saliency_unet.stages.\1.mlp_norm."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.blocks\.0\.mlp\.(fc[12])\.", r"saliency_unet.stages.\1.\2."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.blocks\.0\.align_conv\.", r"saliency_unet.stages.\1.audio_align."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.blocks\.0\.attn\.conv_proj_([qkv])\.conv\.weight$",
     r"saliency_unet.stages.\1.attention.\2_conv.weight"),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.blocks\.0\.attn\.conv_proj_([qkv])\.bn\.",
     r"saliency_unet.stages.\1.attention.\2_norm."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.blocks\.0\.attn\.proj_([qkv])\.", r"saliency_unet.stages.\1.attention.\2."),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.(\d)\.blocks\.0\.attn\.proj\.", r"saliency_unet.stages.\1.attention.out."),
    (r"^decoder_net\.invpt_decoder\.norm_mts\.(\d)\.", r"saliency_unet.stages.\1.out_norm."),
    (r"^decoder_net\.invpt_decoder\.redu_chan_up\.(\d)\.proj\.0\.weight$", r"saliency_unet.stages.\1.temporal.weight"),
    (r"^decoder_net\.invpt_decoder\.mt_proj\.0\.", "saliency_unet.fuse_conv."),
    (r"^decoder_net\.invpt_decoder\.mt_proj\.1\.", "saliency_unet.fuse_norm."),
    (r"^decoder_net\.logits\.linear_pred\.", "saliency_unet.head."),
]

# Tensors the published network holds without using them: (pattern, reason); the second list for visual models.
DROPPED_ALWAYS: list[tuple[str, str]] = [
    (r"^audio_net\.embeddings\.", "VGGish fully connected layers (never run)"),
    (r"^fc\.", "the wrapper's audio projection (never run)"),
    (r"^spatiotemp_net\.(to_patch_embedding\.|pos_embedding$)", "audio patch/position embedding (discarded)"),
]
DROPPED_VISUAL: list[tuple[str, str]] = [
    (r"^decoder_net\.(temb|conv_in|down1|res_encoder)\.", "noise branch (its slot is never read without audio)"),
    (r"^decoder_net\.invpt_decoder\.mid_stages\.\d\.blocks\.0\.align_conv\.", "MIM convs (never run without audio)"),
]


def _pad_patchify(tensor: torch.Tensor) -> torch.Tensor:
    """3x3 stride-4 kernel on a bottom/right-padded input == 4x4 stride-4 kernel with a zero last row/column."""
    return F.pad(tensor, (0, 1, 0, 1))


# Reshapes applied to the renamed key (pattern on the new name).
RESHAPES: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = [
    (r"^video_encoder\.pos_encoding\.class_token$", lambda t: t.reshape(-1)),
    (r"\.noise_encoder\.patchify\.weight$", _pad_patchify),
    # depthwise Conv3d over a single slot: the q kernel's middle temporal slice, the k/v kernels' only one
    (r"\.attention\.q_conv\.weight$", lambda t: t[:, :, t.shape[2] // 2]),
    (r"\.attention\.[kv]_conv\.weight$", lambda t: t[:, :, 0]),
]


@dataclass
class ConversionReport:
    """What the converter did with each tensor of the released file."""

    kind: str
    converted: list[str] = field(default_factory=list)  # released keys (without "module.") now in the model
    dropped: dict[str, list[str]] = field(default_factory=dict)  # reason -> released keys
    other_entries: list[str] = field(default_factory=list)  # top-level entries besides state_dict (optimizer...)
    converted_values: int = 0
    dropped_values: int = 0

    def summary(self) -> str:
        parts = [f"{len(self.converted)} tensors ({self.converted_values / 1e6:.2f} M values) converted"]
        for reason, keys in self.dropped.items():
            parts.append(f"dropped {len(keys)} ({reason})")
        if self.other_entries:
            parts.append(f"ignored {', '.join(self.other_entries)}")
        return "; ".join(parts)


def read_released_state(path: str | Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The `state_dict` of a released checkpoint without the `module.` prefix, and its other top-level entries."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"checkpoint not found: {path}" if not path.exists() else f"{path}: not a file")
    content = load_torch_file(path, what="released DiffSal checkpoint")
    if not isinstance(content, Mapping) or not isinstance(content.get("state_dict"), Mapping):
        found = describe_keys(map(str, content)) if isinstance(content, Mapping) else type(content).__name__
        raise WeightsError(f"{path}: not a released DiffSal checkpoint (expected a dict with 'state_dict', "
                           f"found {found})")
    state = content["state_dict"]
    bad = [str(key) for key, value in state.items() if not isinstance(key, str) or not isinstance(value, torch.Tensor)]
    if bad:
        raise WeightsError(f"{path}: 'state_dict' holds entries that are not named tensors: {describe_keys(bad)}")
    stripped = {key.removeprefix("module."): value for key, value in state.items()}
    if not any(key.startswith("decoder_net.") for key in stripped):
        raise WeightsError(f"{path}: not a released DiffSal checkpoint (no decoder_net.* tensors; found "
                           f"{describe_keys(stripped)})")
    return stripped, [str(key) for key in content if key != "state_dict"]


def detect_kind(state: Mapping[str, torch.Tensor]) -> str:
    """'av' when the file has the audio network, 'visual' otherwise."""
    return "av" if any(key.startswith("audio_net.") for key in state) else "visual"


def _rename(key: str) -> str | None:
    for pattern, replacement in RENAMES:
        if re.search(pattern, key):
            return re.sub(pattern, replacement, key)
    return None


def _reshape(new_key: str, tensor: torch.Tensor) -> torch.Tensor:
    for pattern, function in RESHAPES:
        if re.search(pattern, new_key):
            return function(tensor)
    return tensor


def from_published(path: str | Path, kind: str | None = None,
                   config: PublishedConfig | None = None) -> tuple[PublishedDiffSal, ConversionReport]:
    """Build the published model of a released `best.pth` and fill every one of its tensors.

    Args:
        path: the released checkpoint.
        kind: "av" or "visual"; None detects it from the keys (the audio network's presence).
        config: the network's config; None = the released size of that kind (`PublishedConfig.preset(kind)`).

    Raises:
        WeightsError: the file is unreadable, not a released checkpoint, or does not fit the model (the message
            names the keys).
    """
    state, others = read_released_state(path)
    detected = detect_kind(state)
    if kind is not None and kind != detected:
        raise WeightsError(f"{path}: --kind {kind} given, but the file holds the {detected} model "
                           f"({'it has' if detected == 'av' else 'it has no'} audio_net.* tensors)")
    kind = detected
    if config is None:
        config = PublishedConfig.preset(kind)
    elif config.use_audio != (kind == "av"):
        raise WeightsError(f"{path}: holds the {kind} model but the config is {config.architecture}")
    dropping = DROPPED_ALWAYS + (DROPPED_VISUAL if kind == "visual" else [])
    report = ConversionReport(kind=kind, other_entries=others)
    converted: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for key, tensor in state.items():
        reason = next((why for pattern, why in dropping if re.search(pattern, key)), None)
        if reason is not None:
            report.dropped.setdefault(reason, []).append(key)
            report.dropped_values += tensor.numel()
            continue
        new_key = _rename(key)
        if new_key is None:
            unknown.append(key)
            continue
        converted[new_key] = _reshape(new_key, tensor)
        report.converted.append(key)
        report.converted_values += tensor.numel()
    if unknown:
        raise WeightsError(f"{path}: tensors with no place in the published {kind} model: {describe_keys(unknown)}")
    model = PublishedDiffSal(config)
    load_into(model, converted, source=str(path))  # strict: names missing or mis-shaped tensors
    check_finite_weights(model, str(path))
    model.eval()
    return model, report


@dataclass
class ConversionResult:
    """A converted checkpoint: the model folder written, the model and what happened to each tensor."""

    out: Path
    model: PublishedDiffSal
    report: ConversionReport


def default_conversion_folder(checkpoint: str | Path) -> Path:
    """``<checkpoint stem>_diffsal`` beside the checkpoint."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}_diffsal")


def convert_checkpoint(checkpoint: str | Path, out: str | Path | None = None, *, kind: str | None = None,
                       overwrite: bool = False) -> ConversionResult:
    """Convert a released `best.pth` into a model folder `out` (default `default_conversion_folder`); a folder
    that already holds a model is refused unless `overwrite`, before the checkpoint is read."""
    checkpoint = check_input_path(checkpoint, "checkpoint")
    out = default_conversion_folder(checkpoint) if out is None else Path(out)
    check_output_folder(out, files=(CONFIG_NAME, WEIGHTS_NAME))
    if not overwrite and ((out / CONFIG_NAME).exists() or (out / WEIGHTS_NAME).exists()):
        raise InputError(f"{out} already holds a model; pass --overwrite to replace it or choose another --out")
    model, report = from_published(checkpoint, kind=kind)
    model.save_pretrained(out)
    return ConversionResult(out, model, report)
