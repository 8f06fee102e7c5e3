"""MViTv2's pooling attention computed with `scaled_dot_product_attention`.

torchvision's `MultiscaleAttention` forms the attention matrix, adds the decomposed relative-position terms
to it, applies the softmax and multiplies by the values: three passes over a (queries x keys) matrix that
is 43 009 x 673 per head in the first block of the paper preset. Here the relative positions become the
additive mask of one fused SDPA call (the same values: torchvision's own `_add_rel_pos` builds them), which
ran the first block's attention 2.9x faster on a CPU (docs/performance.md). Parameters and their names are
those of the torchvision module, so Kinetics-400 weight files load unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.video.mvit import MultiscaleAttention, _add_rel_pos, _add_shortcut


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
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dim).transpose(1, 3).unbind(dim=2)
        k_thw = thw
        if self.pool_k is not None:
            k, k_thw = self.pool_k(k, thw)
        if self.pool_v is not None:
            v = self.pool_v(v, thw)[0]
        if self.pool_q is not None:
            q, thw = self.pool_q(q, thw)
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
