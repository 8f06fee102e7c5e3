"""Video encoder: torchvision's MViTv2 at any clip size, returning four multi-scale feature maps.

The module keeps torchvision's parameter names (`conv_proj.*`, `pos_encoding.*`, `blocks.N.*`) so the
Kinetics-400 MViTv2-S file (`mvit_v2_s-ae3be167.pth`) loads directly; its classifier (`norm.*`, `head.*`)
is not used and not kept. The blocks' attention runs through `scaled_dot_product_attention`
(`diffsal.models.pooled_attention`), with torchvision's parameters and results. Options of
`VideoEncoderConfig`: LayerNorms in the stream after each stage (`stage_norms.S.*`), the LayerNorms' eps,
and the image size the relative-position tables are built for (torchvision interpolates them at run time
to the clip's token grid).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.video.mvit import MSBlockConfig, MViT

from diffsal.models.config import VideoEncoderConfig
from diffsal.models.pooled_attention import use_sdpa
from diffsal.models.weights import LoadReport, load_into, read_state_dict

REL_POS_SUFFIXES = ("attn.rel_pos_h", "attn.rel_pos_w", "attn.rel_pos_t")


def mvit_block_settings(config: VideoEncoderConfig) -> list[MSBlockConfig]:
    """Per-block settings in torchvision's form; the defaults reproduce `mvit_v2_s` exactly.

    The first block of stages 2-4 halves the spatial size (query stride 1x2x2) and widens the channels;
    the key/value pooling stride starts at `kv_stride` and halves with every stage.
    """
    settings = []
    previous = config.channels[0]
    kv_stride = config.kv_stride
    for stage, (channels, depth, heads) in enumerate(zip(config.channels, config.depths, config.num_heads)):
        for index in range(depth):
            downsample = stage > 0 and index == 0
            settings.append(MSBlockConfig(
                num_heads=heads,
                input_channels=previous,
                output_channels=channels,
                kernel_q=[3, 3, 3],
                kernel_kv=[3, 3, 3],
                stride_q=[1, 2, 2] if downsample else [1, 1, 1],
                stride_kv=[1, kv_stride, kv_stride],
            ))
            previous = channels
        kv_stride = max(1, kv_stride // 2)
    return settings


def build_mvit(config: VideoEncoderConfig, num_frames: int, image_size: tuple[int, int]) -> MViT:
    """torchvision's `MViT` with MViTv2-S's options (pooling residual, relative positions) at any clip size.

    Its relative-position tables are built for `config.rel_pos_size` (the clip's `image_size` when None):
    with relative positions nothing else depends on the spatial size (the positional encoding holds only the
    class token), and the blocks run at any size.
    """
    return MViT(
        spatial_size=tuple(config.rel_pos_size or image_size),
        temporal_size=num_frames,
        block_setting=mvit_block_settings(config),
        residual_pool=True,
        residual_with_cls_embed=False,
        rel_pos_embed=True,
        proj_after_attn=True,
        stochastic_depth_prob=config.stochastic_depth_prob,
        num_classes=1,
        norm_layer=partial(nn.LayerNorm, eps=config.layer_norm_eps),
    )


def resize_rel_pos(table: torch.Tensor, length: int) -> torch.Tensor:
    """Linearly resize a relative-position table `(L, head_dim)` to `(length, head_dim)`.

    The same interpolation torchvision applies at run time when a table does not fit the token grid.
    """
    if table.shape[0] == length:
        return table
    resized = F.interpolate(table.float().t().unsqueeze(0), size=length, mode="linear", align_corners=False)
    return resized.squeeze(0).t().to(table.dtype)


class VideoEncoder(nn.Module):
    """MViTv2 over a clip `(B, 3, T, H, W)` -> four maps `(B, C_s, T/2, H/4/2^s, W/4/2^s)`, s = 0..3.

    Paper preset (16x224x384): 96x8x56x96, 192x8x28x48, 384x8x14x24, 768x8x7x12. With `config.stage_norms`
    the tokens (class token included) are layer-normalised after each stage's last block, by `stage_norms[s]`;
    the map is taken from them and they go on into the next stage.
    """

    def __init__(self, config: VideoEncoderConfig, num_frames: int, image_size: tuple[int, int]) -> None:
        super().__init__()
        self.config = config
        mvit = build_mvit(config, num_frames, image_size)
        self.output_blocks = config.output_blocks
        self.conv_proj = mvit.conv_proj
        self.pos_encoding = mvit.pos_encoding
        self.blocks = nn.ModuleList(mvit.blocks[: self.output_blocks[-1] + 1])
        use_sdpa(self.blocks)
        # Empty without `config.stage_norms`: the encoder then has exactly torchvision's parameters.
        self.stage_norms = nn.ModuleList(
            nn.LayerNorm(channels, eps=config.layer_norm_eps) for channels in config.channels
        ) if config.stage_norms else nn.ModuleList()

    @property
    def channels(self) -> tuple[int, ...]:
        return tuple(self.config.channels)

    def forward(self, frames: torch.Tensor) -> list[torch.Tensor]:
        x = self.conv_proj(frames)  # (B, C0, T', H', W')
        batch = x.shape[0]
        thw = tuple(x.shape[2:])
        x = self.pos_encoding(x.flatten(2).transpose(1, 2))  # (B, 1 + T'H'W', C0): class token first
        maps = []
        for index, block in enumerate(self.blocks):
            x, thw = block(x, thw)
            if index in self.output_blocks:
                if self.stage_norms:
                    x = self.stage_norms[len(maps)](x)
                tokens = x[:, 1:]  # drop the class token
                # A view of the tokens, channels-last in memory: the Saliency-UNet reads them that way.
                maps.append(tokens.reshape(batch, *thw, tokens.shape[-1]).permute(0, 4, 1, 2, 3))
        return maps

    def load_kinetics_weights(self, path: str | Path, strict: bool = True) -> LoadReport:
        """Load torchvision's MViTv2 state dict (e.g. the Kinetics-400 `mvit_v2_s` file).

        Relative-position tables load as they are when this encoder's have their length (the paper preset's
        `rel_pos_size` (224, 224) is the size of the Kinetics-400 file); tables of another length (built for
        another size, e.g. `rel_pos_size` None at 224x384) are linearly resized once, here, and reported as
        interpolated. The classifier and any blocks past the last used one are reported as ignored. Raises
        `WeightsError` naming missing, unexpected or mis-shaped keys (with `strict=False` they are only
        reported). The stage norms are not in torchvision's files: they keep their initial values (identity)
        and are listed as missing without raising.
        """
        state = read_state_dict(path)
        used_blocks = len(self.blocks)

        def ignore(key: str) -> bool:
            if key.startswith(("norm.", "head.")):
                return True
            if key.startswith("blocks."):
                return int(key.split(".")[1]) >= used_blocks
            return False

        def resize(key: str, tensor: torch.Tensor, expected: torch.Tensor) -> torch.Tensor | None:
            if key.endswith(REL_POS_SUFFIXES) and tensor.dim() == 2 and tensor.shape[1] == expected.shape[1]:
                return resize_rel_pos(tensor, expected.shape[0])
            return None

        # torchvision's part of the encoder, under its own names: the keys the file can hold.
        torchvision_part = nn.ModuleDict({name: module for name, module in self.named_children()
                                          if name != "stage_norms"})
        report = load_into(torchvision_part, state, source=str(path), ignore=ignore, resize=resize, strict=strict)
        report.missing += [f"stage_norms.{key}" for key in self.stage_norms.state_dict()]
        return report
