"""The ViT pieces that TimeSformer and VideoMAE share: multi-head self-attention and the MLP.

Both references write them as timm's ViT did in 2021 (`qkv`, `proj`, `mlp.fc1`, `mlp.fc2`;
facebookresearch/TimeSformer@a5ef29a:timesformer/models/vit.py, MCG-NJU/VideoMAE@14ef8d8:
modeling_finetune.py), so our parameter names are theirs and their checkpoints load key for
key. Attention runs through `F.scaled_dot_product_attention`, which computes the references'
softmax(q kᵀ · d^-1/2) v with a fused kernel where the device has one; its matrix products are
counted by the handle in `actionbench/cost/attention.py` (fvcore alone would count 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """Multi-head self-attention over (batch, tokens, dim), one linear for q, k and v."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool = True):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def qkv_bias(self) -> torch.Tensor | None:
        return self.qkv.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        qkv = F.linear(x, self.qkv.weight, self.qkv_bias())
        q, k, v = qkv.reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, dim))


class QVBiasAttention(SelfAttention):
    """VideoMAE's (and BEiT's) attention: learned biases for q and v only, k's fixed at zero,
    kept as the two parameters `q_bias` and `v_bias` the reference's checkpoints hold."""

    def __init__(self, dim: int, heads: int):
        super().__init__(dim, heads, qkv_bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.v_bias = nn.Parameter(torch.zeros(dim))

    def qkv_bias(self) -> torch.Tensor:
        return torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))


class Mlp(nn.Sequential):
    """fc1 -> GELU -> fc2, the transformer block's feed-forward part."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)


def init_vit_weights(module: nn.Module) -> None:
    """timm's ViT initialisation, which both references apply: linear weights truncated normal
    (std 0.02) with zero bias, LayerNorms at (1, 0)."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
