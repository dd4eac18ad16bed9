"""The ViT layers shared by TimeSformer and VideoMAE (actionbench/models/transformers/layers.py)."""

from __future__ import annotations

import torch

from actionbench.models.transformers.layers import QVBiasAttention, SelfAttention


def written_out(attention: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """The references' attention, step by step: softmax(q kᵀ / sqrt(d)) v per head, then proj."""
    batch, tokens, dim = x.shape
    heads = attention.heads
    qkv = x @ attention.qkv.weight.T
    bias = attention.qkv_bias()
    if bias is not None:
        qkv = qkv + bias
    q, k, v = qkv.reshape(batch, tokens, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
    weights = (q @ k.transpose(-2, -1) * (dim // heads) ** -0.5).softmax(dim=-1)
    return attention.proj((weights @ v).transpose(1, 2).reshape(batch, tokens, dim))


def test_self_attention_equals_the_written_out_form():
    torch.manual_seed(0)
    attention, x = SelfAttention(24, heads=3), torch.randn(2, 5, 24)
    with torch.no_grad():
        torch.testing.assert_close(attention(x), written_out(attention, x), rtol=0, atol=1e-6)


def test_qv_bias_attention_has_no_key_bias():
    torch.manual_seed(0)
    attention, x = QVBiasAttention(24, heads=3), torch.randn(2, 5, 24)
    with torch.no_grad():
        attention.q_bias.normal_()
        attention.v_bias.normal_()
        bias = attention.qkv_bias()
        torch.testing.assert_close(attention(x), written_out(attention, x), rtol=0, atol=1e-6)
    assert torch.equal(bias[24:48], torch.zeros(24))
    assert torch.equal(bias[:24], attention.q_bias) and torch.equal(bias[48:], attention.v_bias)
    assert {name for name, _ in attention.named_parameters()} == {
        "q_bias", "v_bias", "qkv.weight", "proj.weight", "proj.bias"}
