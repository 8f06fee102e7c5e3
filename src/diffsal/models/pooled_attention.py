"""MViTv2's pooling attention computed with `scaled_dot_product_attention`, pooling in one layout.

torchvision's `MultiscaleAttention` forms the attention matrix, adds the decomposed relative-position terms
to it, applies the softmax and multiplies by the values: three passes over a (queries x keys) matrix that
is 43 009 x 673 per head in the first block of the paper preset. Here the relative positions become the
additive mask of one fused SDPA call (the same values: torchvision's own `_add_rel_pos` builds them), which
ran the first block's attention 2.9x faster on a CPU (docs/performance.md).

The pooling of q, k and v runs torchvision's `Pool` computation (depthwise `Conv3d`, class token passed
through, then the `norm_act` LayerNorm over the head dimension) in the token-major layout the `qkv`
projection writes: the heads are folded into the conv's channels (`(B, T, H, W, heads * head_dim)`, the conv
in `channels_last_3d` memory format with its per-channel kernel repeated for every head), so the tokens are
never transposed to `(B * heads, head_dim, T, H, W)` and back. Parameters and their names are those of the
torchvision modules (`pool_q.pool.weight`, `pool_q.norm_act.0.*`, ...), so Kinetics-400 weight files and
the model files load unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.video.mvit import MultiscaleAttention, Pool, _add_rel_pos, _add_shortcut


def _is_depthwise(pool: Pool) -> bool:
    """Whether `pool` is torchvision's pooling (depthwise zero-padded Conv3d, norm after it) `pool_tokens` runs."""
    conv = pool.pool
    return (isinstance(conv, nn.Conv3d) and not pool.norm_before_pool and conv.padding_mode == "zeros"
            and conv.groups == conv.in_channels == conv.out_channels)


def pool_tokens(pool: Pool, x: torch.Tensor, thw: tuple[int, int, int]) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """torchvision's `Pool.forward` on token-major heads: `(B, 1 + T*H*W, heads, hd) -> (B, 1 + T'*H'*W', heads, hd)`.

    `x` may be a strided view (a slice of the `qkv` output); token 0 is the class token.
    """
    batch, _, heads, head_dim = x.shape
    if not _is_depthwise(pool):  # any other pooling: torchvision's own, in its layout
        pooled, thw = pool(x.transpose(1, 2), thw)
        return pooled.transpose(1, 2), thw
    conv = pool.pool
    grid = x[:, 1:].reshape(batch, *thw, heads * head_dim).permute(0, 4, 1, 2, 3)  # (B, C, T, H, W), a view
    grid = grid.contiguous(memory_format=torch.channels_last_3d)
    weight = conv.weight.repeat(heads, 1, 1, 1, 1)  # channel h * hd + c is head h's channel c
    bias = conv.bias.repeat(heads) if conv.bias is not None else None
    pooled = F.conv3d(grid, weight, bias, conv.stride, conv.padding, conv.dilation, groups=heads * head_dim)
    out_thw = tuple(pooled.shape[2:])
    pooled = pooled.permute(0, 2, 3, 4, 1).reshape(batch, -1, heads, head_dim)
    out = torch.cat((x[:, :1], pooled), dim=1)
    if pool.norm_act is not None:
        out = pool.norm_act(out)  # LayerNorm over head_dim, the last dimension in either layout
    return out, out_thw


class PooledAttention(nn.Module):
    """Drop-in for a torchvision `MultiscaleAttention`: `(B, 1 + T*H*W, C), thw -> (B, 1 + T'*H'*W', C'), thw'`."""

    def __init__(self, attention: MultiscaleAttention) -> None:
        super().__init__()
        self.num_heads = attention.num_heads
        self.head_dim = attention.head_dim
        self.output_dim = attention.output_dim
        self.residual_pool = attention.residual_pool
        self.residual_with_cls_embed = attention.residual_with_cls_embed
        self.qkv = attention.qkv
        self.project = attention.project
        self.pool_q = attention.pool_q
        self.pool_k = attention.pool_k
        self.pool_v = attention.pool_v
        self.rel_pos_h = attention.rel_pos_h
        self.rel_pos_w = attention.rel_pos_w
        self.rel_pos_t = attention.rel_pos_t

    def forward(self, x: torch.Tensor, thw: tuple[int, int, int]) -> tuple[torch.Tensor, tuple[int, int, int]]:
        batch, tokens, _ = x.shape
        # Token-major (B, N, heads, hd) views of the projection; transposed to (B, heads, N, hd) only as views.
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dim).unbind(dim=2)
        k_thw = thw
        if self.pool_k is not None:
            k, k_thw = pool_tokens(self.pool_k, k, thw)
        if self.pool_v is not None:
            v = pool_tokens(self.pool_v, v, thw)[0]
        if self.pool_q is not None:
            q, thw = pool_tokens(self.pool_q, q, thw)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        mask = None
        if self.rel_pos_h is not None and self.rel_pos_w is not None and self.rel_pos_t is not None:
            # The relative-position terms, with zeros in the class token's row and column.
            zeros = q.new_zeros(batch, self.num_heads, q.shape[2], k.shape[2])
            mask = _add_rel_pos(zeros, q, thw, k_thw, self.rel_pos_h, self.rel_pos_w, self.rel_pos_t).to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # scale 1/sqrt(head_dim), as torchvision's
        if self.residual_pool:
            _add_shortcut(out, q, self.residual_with_cls_embed)
        out = out.transpose(1, 2).reshape(batch, -1, self.output_dim)
        return self.project(out), thw


def use_sdpa(blocks: nn.ModuleList) -> None:
    """Replace the attention of every MViT block by `PooledAttention` (same parameters, same outputs)."""
    for block in blocks:
        block.attn = PooledAttention(block.attn)
