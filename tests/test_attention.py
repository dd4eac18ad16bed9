"""fvcore handles for fused attention (actionbench/cost/attention.py), against hand counts."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actionbench.cost.attention import ATTENTION_HANDLES
from actionbench.cost.flops import count_flops

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from fvcore.nn import FlopCountAnalysis

BATCH, HEADS, QUERIES, KEYS, DIM, VALUE_DIM = 2, 3, 5, 7, 8, 4


class Fused(nn.Module):
    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


class Unfused(nn.Module):
    """The same attention in the form fvcore's matmul handle counts."""

    def forward(self, q, k, v):
        return (q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5).softmax(dim=-1) @ v


def qkv(query_heads=HEADS, key_heads=HEADS):
    return (torch.randn(BATCH, query_heads, QUERIES, DIM), torch.randn(BATCH, key_heads, KEYS, DIM),
            torch.randn(BATCH, key_heads, KEYS, VALUE_DIM))


def macs(module, inputs, handles=True):
    analysis = FlopCountAnalysis(module.eval(), inputs)
    if handles:
        analysis.set_op_handle(**ATTENTION_HANDLES)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analysis.total(), analysis.unsupported_ops()


HAND = BATCH * HEADS * QUERIES * KEYS * (DIM + VALUE_DIM)
"""Q Kᵀ: DIM multiply-adds per (query, key) pair and head; A V: VALUE_DIM per pair."""


def test_fvcore_alone_counts_nothing_for_fused_attention():
    total, unsupported = macs(Fused(), qkv(), handles=False)
    assert total == 0 and unsupported == {"aten::scaled_dot_product_attention": 1}


def test_fused_attention_counts_both_products_like_the_matmul_form():
    assert macs(Fused(), qkv())[0] == HAND
    assert macs(Unfused(), qkv(), handles=False)[0] == HAND


def test_grouped_query_attention_counts_every_query_head():
    class Grouped(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    assert macs(Grouped(), qkv(query_heads=HEADS, key_heads=1))[0] == HAND


def test_headline_gflops_include_fused_attention():
    class Projected(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(DIM, DIM, bias=False)

        def forward(self, x):
            return F.scaled_dot_product_attention(self.proj(x), x, x)

    x = torch.randn(BATCH, HEADS, QUERIES, DIM)
    result = count_flops(Projected(), x)
    linear = BATCH * HEADS * QUERIES * DIM * DIM
    attention = BATCH * HEADS * QUERIES * QUERIES * 2 * DIM
    assert result["gflops"] * 1e9 == pytest.approx(linear + attention)
    assert result["unsupported_ops"] == {}


@pytest.mark.parametrize("length, keys", [(6, 6), (6, 9)])
def test_multi_head_attention_fast_path_counted_like_its_slow_path(length, keys):
    """nn.MultiheadAttention's fused eval path (self-attention without gradients, batch first)
    hides its projections and products from fvcore; the handle counts what the unfused path's
    linear and attention handles count (cross-attention takes the unfused path either way)."""
    embed, heads = 16, 4
    attention = nn.MultiheadAttention(embed, heads, batch_first=True).eval()

    class SelfOrCross(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = attention

        def forward(self, x, memory):
            source = x if memory.shape[1] == x.shape[1] else memory
            return self.attention(x, source, source, need_weights=False)[0]

    x, memory = torch.randn(BATCH, length, embed), torch.randn(BATCH, keys, embed)
    projections = BATCH * (length + 2 * keys) * embed * embed + BATCH * length * embed * embed
    hand = projections + 2 * BATCH * length * keys * embed
    with torch.no_grad():
        fused, unsupported = macs(SelfOrCross(), (x, memory))
    with torch.enable_grad():
        unfused, _ = macs(SelfOrCross(), (x, memory))
    assert fused == unfused == hand and not any("attention" in op for op in unsupported)
    if keys == length:
        with torch.no_grad():
            assert "aten::_native_multi_head_attention" in macs(SelfOrCross(), (x, memory),
                                                                handles=False)[1]
