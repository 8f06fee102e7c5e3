"""MViTv2's pooling attention computed with `scaled_dot_product_attention`, pooling in one layout.

torchvision's `MultiscaleAttention` forms the attention matrix, adds the decomposed relative-position terms
to it, applies the softmax and multiplies by the values: three passes over a (queries x keys) matrix that
is 43 009 x 673 per head in the first block of the paper preset. Here one fused SDPA call does it all, with
no (queries x keys) tensor in memory: a relative-position term is a product of the query with a table row
chosen by the key's time, row or column index, so it is one more channel pair of the dot product. Each query
gets its T' + H' + W' products with the table rows (`relative_position_channels`), each key a one-hot of its
(t, h, w) position, and `q . k * scale + rel(q, k)` is the dot product of the extended vectors with the query
pre-scaled (values padded with zeros to the same width, as SDPA's fused CPU kernel wants). That is the same
sum as torchvision's `_add_rel_pos`, in another order (equal within float rounding, tested); on a CPU it ran
the first block's attention 2.3x faster than the additive mask it replaces (docs/performance.md).

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
from torchvision.models.video.mvit import MultiscaleAttention, Pool, _interpolate


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


def _relative_distance(q_size: int, k_size: int) -> torch.Tensor:
    """torchvision's table index of every (query, key) pair along one axis: `(q_size, k_size)`, the tables' row."""
    q_ratio = max(k_size / q_size, 1.0)
    k_ratio = max(q_size / k_size, 1.0)
    distance = torch.arange(q_size)[:, None] * q_ratio - (torch.arange(k_size)[None, :] + (1.0 - k_size)) * k_ratio
    return distance.long()


def relative_position_channels(q: torch.Tensor, q_thw: tuple[int, int, int], k_thw: tuple[int, int, int],
                               rel_pos_t: torch.Tensor, rel_pos_h: torch.Tensor,
                               rel_pos_w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """MViTv2's decomposed relative positions as extra channels of the queries and keys.

    `q` is `(B, heads, 1 + T*H*W, head_dim)` (token 0 the class token). Returns the queries' channels
    `(B, heads, 1 + T*H*W, T' + H' + W')`, the products of each query with the table rows of every key time, row
    and column, and the keys' `(1 + T'*H'*W', T' + H' + W')` one-hots of their position; the class token's row of
    both is zero. Their dot product for a (query, key) pair is torchvision's `_add_rel_pos` term of that pair.
    """
    (q_t, q_h, q_w), (k_t, k_h, k_w) = q_thw, k_thw
    tables = []
    for table, q_size, k_size in ((rel_pos_t, q_t, k_t), (rel_pos_h, q_h, k_h), (rel_pos_w, q_w, k_w)):
        table = _interpolate(table, int(2 * max(q_size, k_size) - 1))
        tables.append(table[_relative_distance(q_size, k_size)].to(q.dtype))  # (q_size, k_size, head_dim)
    batch, heads, _, head_dim = q.shape
    grid_q = q[:, :, 1:].reshape(batch, heads, q_t, q_h, q_w, head_dim)
    query_channels = q.new_zeros(batch, heads, q.shape[2], k_t + k_h + k_w)
    grid_channels = query_channels[:, :, 1:].view(batch, heads, q_t, q_h, q_w, -1)
    grid_channels[..., :k_t] = torch.einsum("bythwc,tkc->bythwk", grid_q, tables[0])
    grid_channels[..., k_t:k_t + k_h] = torch.einsum("bythwc,hkc->bythwk", grid_q, tables[1])
    grid_channels[..., k_t + k_h:] = torch.einsum("bythwc,wkc->bythwk", grid_q, tables[2])
    axes = (torch.arange(size, device=q.device) for size in (k_t, k_h, k_w))
    t, h, w = (axis.flatten() for axis in torch.meshgrid(*axes, indexing="ij"))
    key_channels = torch.zeros(1 + k_t * k_h * k_w, k_t + k_h + k_w, device=q.device)
    keys = torch.arange(1, key_channels.shape[0], device=q.device)
    key_channels[keys, t] = 1
    key_channels[keys, k_t + h] = 1
    key_channels[keys, k_t + k_h + w] = 1
    return query_channels, key_channels


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
        if self.rel_pos_h is not None and self.rel_pos_w is not None and self.rel_pos_t is not None:
            query_channels, key_channels = relative_position_channels(
                q, thw, k_thw, self.rel_pos_t, self.rel_pos_h, self.rel_pos_w)
            extended_q = torch.cat((q * self.head_dim**-0.5, query_channels), dim=-1)
            extended_k = torch.cat((k, key_channels.to(k.dtype).expand(batch, self.num_heads, -1, -1)), dim=-1)
            padded_v = F.pad(v, (0, extended_q.shape[-1] - self.head_dim))
            out = F.scaled_dot_product_attention(extended_q, extended_k, padded_v, scale=1.0)[..., :self.head_dim]
        else:
            out = F.scaled_dot_product_attention(q, k, v)  # scale 1/sqrt(head_dim), as torchvision's
        if self.residual_pool:  # torchvision's `_add_shortcut`, out of place: autograd keeps SDPA's output
            shortcut = q if self.residual_with_cls_embed else F.pad(q[:, :, 1:], (0, 0, 1, 0))
            out = out + shortcut
        out = out.transpose(1, 2).reshape(batch, -1, self.output_dim)
        return self.project(out), thw


def use_sdpa(blocks: nn.ModuleList) -> None:
    """Replace the attention of every MViT block by `PooledAttention` (same parameters, same outputs)."""
    for block in blocks:
        block.attn = PooledAttention(block.attn)
