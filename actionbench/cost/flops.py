"""FLOPs and parameters with fvcore, under the papers' convention.

fvcore counts one multiply-add as one flop, which is what every reference paper calls a FLOP.
The headline `gflops` keeps only the multiply-adds of convolutions, linear layers and matrix
products, as IBM, TSM and torchvision's metadata do; fvcore's counts for batch norm, pooling,
upsampling and the like go to `gflops_other`, so nothing is hidden. Why conv + linear:
docs/cost.md#the-convention; how each reference counts: docs/cost.md#how-the-references-count.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

with warnings.catch_warnings():
    # fvcore scripts its focal loss at import time, which torch now flags as deprecated.
    warnings.simplefilter("ignore", FutureWarning)
    from fvcore.nn import FlopCountAnalysis, parameter_count

from .attention import ATTENTION_HANDLES, ATTENTION_OPS

HEADLINE_OPS = (frozenset({"conv", "linear", "matmul", "bmm", "einsum", "addmm", "mm", "baddbmm"})
                | ATTENTION_OPS)
CONVENTION = ("multiply-adds of conv, linear and matrix-product ops for one view "
              "(batch 1, 1 clip x 1 crop), as fvcore counts them; other ops in gflops_other")


def count_flops(model: nn.Module, clip: torch.Tensor) -> dict:
    model.eval()
    analysis = FlopCountAnalysis(model, clip).set_op_handle(**ATTENTION_HANDLES)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        by_operator = analysis.by_operator()
    headline = sum(count for op, count in by_operator.items() if op in HEADLINE_OPS)
    other = sum(count for op, count in by_operator.items() if op not in HEADLINE_OPS)
    return {
        "gflops": headline / 1e9,
        "gflops_other": other / 1e9,
        "flops_by_operator": {op: count / 1e9 for op, count in sorted(by_operator.items())},
        "unsupported_ops": dict(sorted(analysis.unsupported_ops().items())),
        "flops_convention": CONVENTION,
        "params_m": parameter_count(model)[""] / 1e6,
    }
