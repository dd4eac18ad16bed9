"""Video Swin Transformer (Liu et al., "Video Swin Transformer", CVPR 2022) as torchvision builds
it: torchvision.models.video.swin3d_t, swin3d_s and swin3d_b with weights=None; docs/methods/
swin3d.md has the checks.

(2, 4, 4) patches; four stages of blocks that attend within 8x7x7 windows of tokens, every second
block with the windows shifted by half a window, patch merging between the stages (height and
width halve, width doubles); mean pooling, LayerNorm and the classifier. Attention's position
information is a learned bias per relative offset inside the window. Inputs of any size run:
the patch embedding pads to whole patches, and a window larger than the feature map shrinks to
it (without shift), as in the original code, so a small clip has a few large windows.

The run's dropout goes in front of the classifier, inside `avgpool`, so the parameter names stay
torchvision's and its Kinetics weights load key for key; mmaction2's recognizers (the original
Video Swin code) name the same tensors differently, see `CHECKPOINTS`.
"""

from __future__ import annotations

from torch import nn
from torchvision.models.video import (
    Swin3D_B_Weights,
    Swin3D_S_Weights,
    Swin3D_T_Weights,
    swin3d_b,
    swin3d_s,
    swin3d_t,
)

from ...plan.registry import (
    BuildContext,
    ContractInput,
    KeyConvention,
    PublishedCost,
    Setting,
    register_method,
)
from ..video3d import TORCHVISION, torchvision_cost

VARIANTS = {"swin3d_t": swin3d_t, "swin3d_s": swin3d_s, "swin3d_b": swin3d_b}
STAGES = 4


def mmaction2_rules() -> tuple[tuple[str, str], ...]:
    """mmaction2's SwinTransformer3D keeps each stage's patch merging inside the stage
    (`layers.i.downsample`) where torchvision makes it the next entry of `features`: stage i is
    features[2i], its merging features[2i + 1]."""
    stages = tuple((rf"^backbone\.layers\.{i}\.blocks\.", f"features.{2 * i}.")
                   for i in range(STAGES))
    merges = tuple((rf"^backbone\.layers\.{i}\.downsample\.", f"features.{2 * i + 1}.")
                   for i in range(STAGES - 1))
    return (
        *stages, *merges,
        (r"\.mlp\.fc1\.", ".mlp.0."),
        (r"\.mlp\.fc2\.", ".mlp.3."),
        (rf"^backbone\.norm{STAGES - 1}\.", "norm."),
        (r"^backbone\.", ""),
        (r"^cls_head\.fc_cls\.", "head."),
    )


CHECKPOINTS = (TORCHVISION, KeyConvention("open-mmlab/mmaction2", rules=mmaction2_rules()))
"""torchvision's Kinetics weights (Swin3D_{T,S,B}_Weights) carry our names."""

PUBLISHED = tuple(
    torchvision_cost(weights, variant, 16, 224)
    for weights, variant in ((Swin3D_T_Weights, "swin3d_t"), (Swin3D_S_Weights, "swin3d_s"),
                             (Swin3D_B_Weights, "swin3d_b"))
) + tuple(
    PublishedCost(Setting.of(variant, 32, 224, 400), "open-mmlab/mmaction2@4d6c934:configs/"
                  "recognition/swin/README.md (32x2x1, 4 clips x 3 crops)", gflops=gflops,
                  params_m=params)
    for variant, gflops, params in (("swin3d_t", 88, 28.2), ("swin3d_s", 166, 49.8),
                                    ("swin3d_b", 282, 88.0))
)
"""torchvision's _ops are for 16-frame clips, although its accuracies are for 32-frame clips;
mmaction2's are per 32-frame view. Both count attention's matrix products."""

CONTRACT_INPUT = ContractInput.of("swin3d_t", frames=4, size=64)
"""Two time steps and 2x2 positions in the last stage: the smallest input at which every
parameter gets a gradient (at 2x32 the last stage's single-token windows leave its relative
position bias without one). Inputs down to one frame of 1x1 run."""


@register_method("swin3d", family="transformer", backbones=tuple(VARIANTS),
                 docs="docs/methods/swin3d.md", classifier="head", published=PUBLISHED,
                 checkpoints=CHECKPOINTS, contract_inputs=(CONTRACT_INPUT,), any_frames=True,
                 description="Video Swin Transformer (torchvision swin3d_t/s/b): shifted 8x7x7 "
                             "window attention over 2x4x4 patches")
def swin3d(ctx: BuildContext) -> nn.Module:
    model = VARIANTS[ctx.backbone](weights=None, num_classes=ctx.num_classes)
    model.avgpool = nn.Sequential(model.avgpool, nn.Dropout(ctx.dropout))
    return model
