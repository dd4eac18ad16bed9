"""Multiscale Vision Transformers as torchvision builds them: MViT-v1-B (Fan et al., "Multiscale
Vision Transformers", ICCV 2021) and MViT-v2-S (Li et al., "MViTv2: Improved Multiscale Vision
Transformers for Classification and Detection", CVPR 2022), torchvision.models.video.mvit_v1_b
and mvit_v2_s with weights=None; docs/methods/mvit.md has the checks.

A (3, 7, 7) conv of stride (2, 4, 4) makes the tokens; attention pools its queries (halving
height and width at three stage transitions) and its keys and values (strided depthwise convs),
so the token grid shrinks and the width grows from stage to stage; the class token's final
LayerNorm feeds the classifier. v1 adds learned absolute space and time position embeddings;
v2 adds relative position terms to the attention logits and a pooled-query residual.

torchvision's builders fix the input at 16x224x224, which sizes the position tables. We build
the same `MViT` for the experiment's frames and crop instead, with the block settings read back
from torchvision's own builder (on the meta device, so nothing is allocated): at 16x224 the
network is torchvision's, parameter for parameter (tests/test_mvit.py), so torchvision's
Kinetics weights load unchanged. The frames must be even and the crop a multiple of 32 (the
patch stride 4 times three query poolings), as torchvision's size bookkeeping assumes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torchvision.models.video import MViT_V1_B_Weights, MViT_V2_S_Weights, mvit_v1_b, mvit_v2_s
from torchvision.models.video.mvit import MSBlockConfig, MultiscaleBlock, MViT

from ...core.errors import UserError
from ...plan.registry import (
    BuildContext,
    ContractInput,
    KeyConvention,
    PublishedCost,
    Setting,
    register_method,
)
from ..video3d import TORCHVISION, torchvision_cost

VARIANTS: dict[str, Callable[..., MViT]] = {"mvit_v2_s": mvit_v2_s, "mvit_v1_b": mvit_v1_b}
SPATIAL_STRIDE, TEMPORAL_STRIDE = 32, 2


def pooled(pool: nn.Module | None) -> tuple[list[int], list[int]]:
    """(kernel, stride) of one attention pooling; ([], []) where the block has none."""
    if pool is None:
        return [], []
    return list(pool.pool.kernel_size), list(pool.pool.stride)


def block_setting(block: MultiscaleBlock) -> MSBlockConfig:
    """The MSBlockConfig torchvision built `block` from."""
    kernel_q, stride_q = pooled(block.attn.pool_q)
    kernel_kv, stride_kv = pooled(block.attn.pool_k)
    return MSBlockConfig(num_heads=block.attn.num_heads,
                         input_channels=block.norm1.normalized_shape[0],
                         output_channels=block.mlp[-2].out_features, kernel_q=kernel_q,
                         kernel_kv=kernel_kv, stride_q=stride_q, stride_kv=stride_kv)


def mvit(variant: str, frames: int, input_size: int, num_classes: int, dropout: float) -> MViT:
    """torchvision's `variant` for a frames x input_size² input."""
    with torch.device("meta"):
        built = VARIANTS[variant]()
    attention = built.blocks[0].attn
    return MViT(spatial_size=(input_size, input_size), temporal_size=frames,
                block_setting=[block_setting(block) for block in built.blocks],
                residual_pool=attention.residual_pool,
                residual_with_cls_embed=attention.residual_with_cls_embed,
                rel_pos_embed=attention.rel_pos_h is not None,
                proj_after_attn=built.blocks[0].proj_after_attn,
                stochastic_depth_prob=built.blocks[-1].stochastic_depth.p,
                dropout=dropout, num_classes=num_classes)


def mmaction2_rules() -> tuple[tuple[str, str], ...]:
    """mmaction2's MViT (mmaction/models/backbones/mvit.py, configs/recognition/mvit): the same
    network under SlowFast's names; its class token is (1, 1, C) where torchvision's is (C,)."""
    pool = tuple((rf"\.attn\.{kind}_{x}\.", rf".attn.pool_{x}.{ours}.")
                 for x in "qkv" for kind, ours in (("pool", "pool"), ("norm", "norm_act.0")))
    return (
        (r"^backbone\.patch_embed\.projection\.", "conv_proj."),
        (r"^backbone\.cls_token$", "pos_encoding.class_token"),
        *pool,
        (r"\.attn\.proj\.", ".attn.project.0."),
        (r"\.mlp\.fc1\.", ".mlp.0."),
        (r"\.mlp\.fc2\.", ".mlp.3."),
        (r"(blocks\.\d+)\.proj\.", r"\1.project."),
        (r"^backbone\.norm3\.", "norm."),
        (r"^backbone\.", ""),
        (r"^cls_head\.fc_cls\.", "head.1."),
    )


CHECKPOINTS = (TORCHVISION, KeyConvention("open-mmlab/mmaction2", rules=mmaction2_rules()))
"""torchvision's Kinetics weights (MViT_V1_B_Weights, MViT_V2_S_Weights) carry our names;
mmaction2 ships MViT-v2 only."""

PUBLISHED = (
    torchvision_cost(MViT_V1_B_Weights, "mvit_v1_b", 16, 224),
    torchvision_cost(MViT_V2_S_Weights, "mvit_v2_s", 16, 224),
    PublishedCost(Setting.of("mvit_v2_s", 16, 224, 400), "open-mmlab/mmaction2@4d6c934:configs/"
                  "recognition/mvit/README.md (MViTv2-S 16x4x1)", gflops=64, params_m=34.5),
)
"""torchvision's figures count attention's matrix products (matmul, einsum) with the conv and
linear layers, for one 16x224² clip, as our headline does."""

CONTRACT_INPUTS = (
    ContractInput.of("mvit_v1_b", frames=4, size=64),
    ContractInput.of("mvit_v2_s", frames=4, size=64, idle=tuple(
        f"blocks.15.attn.{name}" for name in ("rel_pos_h", "rel_pos_w", "rel_pos_t",
                                               "pool_q.pool.weight"))),
)
"""Two time steps after the stem and 2x2 positions in the last stage: the smallest input at
which every parameter gets a gradient (at 2x32 the last stage's position terms are constant
over the keys). MViT-v2-S adds its relative position terms to the patch queries only and pools
only them, so in its last block, whose class token alone reaches the classifier, those four
parameters never get a gradient, in torchvision's network as in the reference's."""


@register_method("mvit", family="transformer", backbones=tuple(VARIANTS), min_frames=TEMPORAL_STRIDE,
                 any_size=False, docs="docs/methods/mvit.md", classifier="head.1", published=PUBLISHED,
                 checkpoints=CHECKPOINTS, contract_inputs=CONTRACT_INPUTS,
                 description="MViT (torchvision mvit_v2_s, mvit_v1_b): multiscale attention "
                             "with pooled queries, keys and values")
def mvit_(ctx: BuildContext) -> nn.Module:
    if ctx.frames % TEMPORAL_STRIDE or ctx.input_size % SPATIAL_STRIDE:
        raise UserError(f"method 'mvit' needs an even data.frames and a data.input_size that is "
                        f"a multiple of {SPATIAL_STRIDE}, got {ctx.frames} frames of "
                        f"{ctx.input_size}x{ctx.input_size}")
    return mvit(ctx.backbone, ctx.frames, ctx.input_size, ctx.num_classes, ctx.dropout)
