"""fvcore handles for the fused attention operators, so that attention's matrix products count.

fvcore 0.1.5 counts attention written as `q @ k.transpose(-2, -1)` and `attn @ v` (its
`aten::matmul` handle) or as `torch.einsum` (its `aten::einsum` handle), but it has no handle
for the fused operators that PyTorch's own attention calls, so it lists them as unsupported and
counts 0 for them (docs/cost_attention.md shows the probe):

- `aten::scaled_dot_product_attention`, what `F.scaled_dot_product_attention` records in a
  trace (our TimeSformer and VideoMAE use it);
- `aten::_native_multi_head_attention`, the fused path `nn.MultiheadAttention` takes in eval
  mode without gradients (batch-first self-attention), which also hides its input and output
  projections from the linear count.

The handles count what the unfused forms count: one multiply-add per term of Q Kᵀ and of A V
(softmax, scaling and masking are not multiply-adds of a matrix product, as fvcore's matmul
handle leaves them out too), plus, for the fused multi-head module, its projections as fvcore's
linear handle would count them. A causal mask is counted as the full product, as the unfused
form computes it.
"""

from __future__ import annotations

from math import prod
from typing import Any

from fvcore.nn.jit_handles import get_shape


def sdpa_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """Q Kᵀ and A V of `scaled_dot_product_attention(query, key, value, ...)`.

    query (..., L, E), key (..., S, E), value (..., S, Ev), output (..., L, Ev). The output's
    leading dimensions are the query heads, also when grouped-query attention shares key heads.
    """
    query, key, value = (get_shape(value) for value in inputs[:3])
    out = get_shape(outputs[0])
    rows, keys = prod(out[:-1]), key[-2]
    return rows * keys * query[-1] + rows * keys * value[-1]


def native_mha_flop_jit(inputs: list[Any], outputs: list[Any]) -> int:
    """`_native_multi_head_attention(query, key, value, embed_dim, num_heads, qkv_weight, ...)`:
    the q, k and v projections, Q Kᵀ and A V over all heads, and the output projection.

    query (B, L, E), key and value (B, S, E), batch first, as the fused path requires.
    """
    query, key = get_shape(inputs[0]), get_shape(inputs[1])
    (batch, length, embed), keys = query, key[-2]
    projections = batch * (length + 2 * keys) * embed * embed + batch * length * embed * embed
    return projections + 2 * batch * length * keys * embed


ATTENTION_HANDLES = {
    "aten::scaled_dot_product_attention": sdpa_flop_jit,
    "aten::_native_multi_head_attention": native_mha_flop_jit,
}
"""For `FlopCountAnalysis(...).set_op_handle(**ATTENTION_HANDLES)`."""

ATTENTION_OPS = frozenset(name.removeprefix("aten::") for name in ATTENTION_HANDLES)
"""Their names in `by_operator()`: matrix products, so part of the headline GFLOPs."""
