"""X3D (Feichtenhofer, CVPR 2020) as PySlowFast builds it (facebookresearch/SlowFast@287ec00:
slowfast/models/video_model_builder.py `X3D`, configs/Kinetics/X3D_{XS,S,M,L}.yaml).

A single-pathway ResNet expanded from a tiny base (stem width 12, stage widths doubling) by X3D's
factors, here X3D's published ones: width x2 and bottleneck x2.25 for every size, depth x2.2
(XS, S, M) or x5 (L). The stem is a 1x3x3 conv of stride (1, 2, 2) followed by a depthwise 5x1x1
conv; each of the four stages starts with a spatial stride of 2; a block is 1x1x1 -> depthwise
3x3x3 -> BN -> squeeze-excitation (every other block, from the first) -> swish -> 1x1x1. Head:
1x1x1 conv to 2.25 x the last width (+ BN, ReLU), global average, a 1x1x1 conv to 2048 (no
bias, ReLU), dropout, fc. XS, S and M are one network that differ in their clip (4x160,
13x160 and 16x224 per PySlowFast's configs: frames x training crop); L is deeper (16x312).
PySlowFast pools the head over a fixed window sized from the training crop, which equals our
global average at that crop (at its larger test crops the reference slides that window and
averages the softmax).

Input: PySlowFast's RGB with mean 0.45 and std 0.225, reached from ours by `InputSpace`
(mmaction2's X3D configs, converted from PySlowFast, use the same: `data_preprocessor`
mean 114.75, std 57.38 on 0-255).

Parameters keep PySlowFast's names (`slowfast_blocks`), the head's `conv_5`, `conv_5_bn`, `lin_5`
too, with the classifier as `head.fc`. PyTorchVideo's `create_x3d` differs in one layer: res2's
first block (24 -> 24 channels, stride 2) has no BN on its shortcut (pytorchvideo/models/x3d.py
`create_x3d_res_block` builds `branch1_norm` only when the widths differ);
`pytorchvideo_shortcut` drops that BN so its checkpoints load.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ..plan.registry import (
    BuildContext,
    ContractInput,
    KeyConvention,
    PublishedCost,
    Setting,
    register_method,
)
from .input_space import InputSpace
from .slowfast import KINETICS_MEAN, KINETICS_STD, PYSLOWFAST_KEYS
from .slowfast_blocks import Pathways, ResBlock, X3DTransform, bn, init_pyslowfast, round_repeats, round_width

DEPTH_FACTOR = {"XS": 2.2, "S": 2.2, "M": 2.2, "L": 5.0}
WIDTH_FACTOR, BOTTLENECK_FACTOR, STEM_WIDTH, HEAD_WIDTH = 2.0, 2.25, 12, 2048
STAGE_BLOCKS = (1, 2, 5, 3)


class X3DOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: Literal["XS", "S", "M", "L"] = Field(
        "M", description="X3D size: XS, S and M share one network (depth x2.2) and differ in "
        "their clip (4x160, 13x160, 16x224); L is depth x5 (16x312)")
    pytorchvideo_shortcut: bool = Field(
        False, description="PyTorchVideo's X3D: no BN on res2's first shortcut (needed to load "
        "its checkpoints)")
    zero_init_final_bn: bool = Field(False, description="PySlowFast's RESNET.ZERO_INIT_FINAL_BN "
                                     "(true in its X3D configs): each block starts as the identity")


class X3DStem(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.conv_xy = nn.Conv3d(3, width, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1),
                                 bias=False)
        self.conv = nn.Conv3d(width, width, (5, 1, 1), padding=(2, 0, 0), groups=width, bias=False)
        self.bn = bn(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(self.conv_xy(x))))


class X3DHead(nn.Module):
    def __init__(self, cin: int, inner: int, num_classes: int, dropout: float):
        super().__init__()
        self.conv_5 = nn.Conv3d(cin, inner, 1, bias=False)
        self.conv_5_bn = bn(inner)
        self.lin_5 = nn.Conv3d(inner, HEAD_WIDTH, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(HEAD_WIDTH, num_classes)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        x = torch.relu(self.conv_5_bn(self.conv_5(xs[0])))
        x = torch.relu(self.lin_5(x.mean(dim=(2, 3, 4), keepdim=True)))
        return self.fc(self.dropout(x.flatten(1)))


class X3D(nn.Module):
    def __init__(self, num_classes: int, dropout: float, options: X3DOptions):
        super().__init__()
        self.input_space = InputSpace(KINETICS_MEAN, KINETICS_STD)
        cin = round_width(STEM_WIDTH, WIDTH_FACTOR)
        self.s1 = Pathways("stem", [[X3DStem(cin)]])
        base = STEM_WIDTH
        for stage, blocks in enumerate(STAGE_BLOCKS):
            if stage:
                base = round_width(base, 2.0, divisor=8)
            cout = round_width(base, WIDTH_FACTOR)
            inner = int(BOTTLENECK_FACTOR * cout)
            repeats = round_repeats(blocks, DEPTH_FACTOR[options.size])
            shortcut_bn = not (options.pytorchvideo_shortcut and cin == cout)
            stage_blocks = [
                ResBlock(cin if i == 0 else cout, cout, 2 if i == 0 else 1,
                         X3DTransform(cin if i == 0 else cout, cout, inner, 2 if i == 0 else 1,
                                      squeeze=i % 2 == 0), shortcut_bn=shortcut_bn)
                for i in range(repeats)]
            self.add_module(f"s{stage + 2}", Pathways("res", [stage_blocks]))
            cin = cout
        self.head = X3DHead(cin, inner, num_classes, dropout)
        init_pyslowfast(self, fc_std=0.01, zero_init_final_bn=options.zero_init_final_bn)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        xs = [self.input_space(clips)]
        for stage in range(1, 6):
            xs = getattr(self, f"s{stage}")(xs)
        return self.head(xs)


PYTORCHVIDEO_X3D_KEYS = KeyConvention("facebookresearch/pytorchvideo", rules=(
    (r"^blocks\.0\.conv\.conv_t\.", "s1.pathway0_stem.conv_xy."),
    (r"^blocks\.0\.conv\.conv_xy\.", "s1.pathway0_stem.conv."),
    (r"^blocks\.0\.norm\.", "s1.pathway0_stem.bn."),
    *((rf"^blocks\.{i}\.res_blocks\.(\d+)\.", rf"s{i + 1}.pathway0_res\1.") for i in range(1, 5)),
    (r"\.branch1_conv\.", ".branch1."), (r"\.branch1_norm\.", ".branch1_bn."),
    (r"\.branch2\.norm_b\.0\.", ".branch2.b_bn."),
    (r"\.branch2\.norm_b\.1\.block\.0\.", ".branch2.se.fc1."),
    (r"\.branch2\.norm_b\.1\.block\.2\.", ".branch2.se.fc2."),
    (r"\.branch2\.conv_([abc])\.", r".branch2.\1."),
    (r"\.branch2\.norm_([ac])\.", r".branch2.\1_bn."),
    (r"^blocks\.5\.pool\.pre_conv\.", "head.conv_5."),
    (r"^blocks\.5\.pool\.pre_norm\.", "head.conv_5_bn."),
    (r"^blocks\.5\.pool\.post_conv\.", "head.lin_5."),
    (r"^blocks\.5\.proj\.", "head.fc."),
))
"""PyTorchVideo's `create_x3d` (option `pytorchvideo_shortcut`): stages as `blocks.{1-4}.
res_blocks`, the stem's spatial conv named `conv_t` and its temporal conv `conv_xy` (the
reverse of PySlowFast's names), BN and SE of the middle conv as `norm_b.{0,1}`."""

MMACTION2_X3D_KEYS = KeyConvention("open-mmlab/mmaction2", rules=(
    (r"^backbone\.conv1_s\.conv\.", "s1.pathway0_stem.conv_xy."),
    (r"^backbone\.conv1_t\.conv\.", "s1.pathway0_stem.conv."),
    (r"^backbone\.conv1_t\.bn\.", "s1.pathway0_stem.bn."),
    *((rf"^backbone\.layer{i}\.(\d+)\.", rf"s{i + 1}.pathway0_res\1.") for i in range(1, 5)),
    *((rf"\.conv{i}\.conv\.", f".branch2.{name}.") for i, name in ((1, "a"), (2, "b"), (3, "c"))),
    *((rf"\.conv{i}\.bn\.", f".branch2.{name}_bn.") for i, name in ((1, "a"), (2, "b"), (3, "c"))),
    (r"\.se_module\.", ".branch2.se."),
    (r"\.downsample\.conv\.", ".branch1."), (r"\.downsample\.bn\.", ".branch1_bn."),
    (r"^backbone\.conv5\.conv\.", "head.conv_5."),
    (r"^backbone\.conv5\.bn\.", "head.conv_5_bn."),
    (r"^cls_head\.fc1\.", "head.lin_5."),
    (r"^cls_head\.fc2\.", "head.fc."),
))
"""mmaction2's X3D backbone and X3DHead (open-mmlab/mmaction2@4d6c934:mmaction/models/
backbones/x3d.py, heads/x3d_head.py): mmcv ConvModules, the stem as `conv1_s`/`conv1_t`, the
head's 1x1x1 convs split between `backbone.conv5` and `cls_head.fc1`, a linear layer whose
(2048, 432) weight is our `lin_5` kernel (2048, 432, 1, 1, 1) with the singleton axes dropped."""


PYSLOWFAST_ZOO = "facebookresearch/SlowFast@287ec00:MODEL_ZOO.md, X3D models"
X3D_PUBLISHED = tuple(
    PublishedCost(Setting.of("none", frames, crop, 400, size=size), f"{PYSLOWFAST_ZOO}, X3D-{size}",
                  gflops=gflops, params_m=params,
                  note=f"{frames} frames at the {crop}x{crop} training crop of "
                       f"configs/Kinetics/X3D_{size}.yaml; the X3D paper's figures")
    for size, frames, crop, gflops, params in (("XS", 4, 160, 0.60, 3.8), ("S", 13, 160, 1.96, 3.8),
                                               ("M", 16, 224, 4.73, 3.8), ("L", 16, 312, 18.37, 6.2)))


@register_method("x3d", family="3D", options=X3DOptions, backbones=("none",),
                 docs="docs/methods/x3d.md", any_frames=True,
                 description="X3D (PySlowFast): expanded tiny ResNet with depthwise 3x3x3 convs, "
                             "squeeze-excitation and swish; sizes XS/S/M/L",
                 checkpoints=(PYSLOWFAST_KEYS, PYTORCHVIDEO_X3D_KEYS, MMACTION2_X3D_KEYS),
                 published=X3D_PUBLISHED,
                 contract_inputs=(ContractInput.of("none", frames=4),
                                  ContractInput.of("none", frames=4, pytorchvideo_shortcut=True)))
def x3d(ctx: BuildContext) -> nn.Module:
    return X3D(ctx.num_classes, ctx.dropout, ctx.options)
