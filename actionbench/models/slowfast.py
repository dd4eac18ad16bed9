"""SlowFast (Feichtenhofer, Fan, Malik, He, ICCV 2019) with PySlowFast's ResNet-50/101
(facebookresearch/SlowFast@287ec00:slowfast/models/video_model_builder.py, `SlowFast`).

Input: our clip (N, C, T, H, W) is the Fast pathway's, all T frames (32 for the Kinetics
rows: 32 frames, every 2nd of the video). The Slow pathway takes T // alpha of them, as the
reference's data pipeline does before the network: PySlowFast's `pack_pathway_output`
(slowfast/datasets/utils.py) picks indices linspace(0, T - 1, T // alpha) rounded down (for
T = 32, alpha = 4: 0, 4, 8, 13, 17, 22, 26, 31), mmaction2's `ResNet3dSlowFast.forward`
every alpha-th frame from the first (nearest-neighbour resampling by 1 / alpha: 0, 4, ..., 28).
`layout` picks one. `alpha` = 8 with a lateral kernel of 5 is "4x16" (4 slow frames, 16 apart
in the video), alpha = 4 with kernel 7 is "8x8" (configs/Kinetics/SLOWFAST_{4x16,8x8}_R50.yaml).

Network (layout `pyslowfast`): a stem per pathway (Slow 1x7x7, Fast 5x7x7 with beta = 1/8 of
the channels), then after the stem and after res2-res4 a time-strided (kernel, 1, 1) conv from
Fast to Slow with BN and ReLU, whose output (2 x the Fast width) is concatenated to the Slow
features; Bottleneck stages with temporal kernel 3 in the Fast pathway throughout and in the
Slow pathway from res4 on; head: global average of each pathway, concatenated (Slow first),
dropout and fc. The head pools globally where PySlowFast uses a fixed average-pool window of
the training crop (T / alpha, 7, 7): identical at 224x224, while at its 256x256 test crop the
reference averages the softmax of 2x2 overlapping windows instead.

Layout `mmaction2` (open-mmlab/mmaction2@4d6c934:mmaction/models/backbones/
resnet3d_slowfast.py and heads/slowfast_head.py): the lateral conv has no BN and no ReLU
(`lateral_norm=False`), the head concatenates Fast first, the Slow frames are strided, and the
input is ImageNet-normalised (its `data_preprocessor`), which is ours. PySlowFast's (and
PyTorchVideo's) input is RGB with mean 0.45 and std 0.225, reached by `InputSpace`.

Parameters keep PySlowFast's names (see `slowfast_blocks`), with the classifier as `head.fc`.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ..core.errors import UserError
from ..plan.registry import (
    BuildContext,
    ContractInput,
    KeyConvention,
    PublishedCost,
    Setting,
    register_method,
)
from .input_space import InputSpace
from .slowfast_blocks import BottleneckTransform, Pathways, ResBlock, ResNetStem, bn, init_pyslowfast

DEPTHS = {"resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3)}
SLOW_TIME_KERNELS = (1, 1, 1, 3, 3)
"""Temporal kernel of the stem and of res2-res5 (PySlowFast `_TEMPORAL_KERNEL_BASIS['slowfast']`)."""
FAST_TIME_KERNELS = (5, 3, 3, 3, 3)
KINETICS_MEAN, KINETICS_STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)
"""PySlowFast's `_C.DATA.MEAN` / `_C.DATA.STD`, shared by PyTorchVideo's Kinetics models."""


class SlowFastOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alpha: int = Field(8, ge=2, description="frame-rate ratio: the Slow pathway sees T // alpha "
                       "of the clip's T frames (4x16: 8, 8x8: 4)")
    beta_inv: int = Field(8, ge=1, description="channel ratio of the Slow to the Fast pathway")
    fusion_kernel: int = Field(5, ge=1, description="temporal kernel of the Fast-to-Slow "
                               "lateral conv (4x16: 5, 8x8: 7)")
    layout: Literal["pyslowfast", "mmaction2"] = Field(
        "pyslowfast", description="whose SlowFast: pyslowfast (also PyTorchVideo's; lateral "
        "conv+BN+ReLU, Slow frames by linspace, input mean 0.45 std 0.225) or mmaction2 (lateral "
        "conv only, every alpha-th frame, ImageNet input, head Fast-first)")
    zero_init_final_bn: bool = Field(False, description="PySlowFast's RESNET.ZERO_INIT_FINAL_BN "
                                     "(true in its Kinetics configs): each block starts as the "
                                     "identity")


def slow_frame_indices(frames: int, alpha: int, layout: str) -> torch.Tensor:
    if layout == "pyslowfast":
        return torch.linspace(0, frames - 1, frames // alpha).long()
    return torch.arange(0, frames, alpha)[: frames // alpha]


class FuseFastToSlow(nn.Module):
    """conv_f2s: (kernel, 1, 1) conv of time stride alpha from the Fast features (+ BN and ReLU
    in PySlowFast's layout), concatenated to the Slow ones."""

    def __init__(self, fast_width: int, ratio: int, kernel: int, alpha: int, normalised: bool):
        super().__init__()
        self.conv_f2s = nn.Conv3d(fast_width, fast_width * ratio, (kernel, 1, 1),
                                  stride=(alpha, 1, 1), padding=(kernel // 2, 0, 0), bias=False)
        self.bn = bn(fast_width * ratio) if normalised else nn.Identity()
        self.normalised = normalised

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        slow, fast = xs
        fused = self.bn(self.conv_f2s(fast))
        if self.normalised:
            fused = torch.relu(fused)
        return [torch.cat([slow, fused], 1), fast]


class SlowFastHead(nn.Module):
    def __init__(self, widths: tuple[int, int], num_classes: int, dropout: float,
                 fast_first: bool):
        super().__init__()
        self.fast_first = fast_first
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(sum(widths), num_classes)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        pooled = [x.mean(dim=(2, 3, 4)) for x in xs]
        if self.fast_first:
            pooled.reverse()
        return self.fc(self.dropout(torch.cat(pooled, 1)))


class SlowFast(nn.Module):
    def __init__(self, depths: tuple[int, ...], num_classes: int, dropout: float,
                 options: SlowFastOptions):
        super().__init__()
        alpha, beta_inv, ratio = options.alpha, options.beta_inv, 2
        pyslowfast = options.layout == "pyslowfast"
        self.alpha, self.layout = alpha, options.layout
        self.input_space = (InputSpace(KINETICS_MEAN, KINETICS_STD) if pyslowfast
                            else nn.Identity())
        width = 64
        self.s1 = Pathways("stem", [[ResNetStem(3, width, SLOW_TIME_KERNELS[0])],
                                    [ResNetStem(3, width // beta_inv, FAST_TIME_KERNELS[0])]])
        slow_in, fast_in = width, width // beta_inv
        for stage, blocks in enumerate(depths):
            index = stage + 2
            setattr(self, f"s{index - 1}_fuse",
                    FuseFastToSlow(fast_in, ratio, options.fusion_kernel, alpha, pyslowfast))
            slow_in += fast_in * ratio
            inner, out = width * 2 ** stage, width * 4 * 2 ** stage
            stride = 1 if stage == 0 else 2
            pathways = []
            for cin, cout, cinner, kernel in (
                    (slow_in, out, inner, SLOW_TIME_KERNELS[stage + 1]),
                    (fast_in, out // beta_inv, inner // beta_inv, FAST_TIME_KERNELS[stage + 1])):
                pathways.append([
                    ResBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1,
                             BottleneckTransform(cin if i == 0 else cout, cout, cinner, kernel,
                                                 stride if i == 0 else 1))
                    for i in range(blocks)])
            setattr(self, f"s{index}", Pathways("res", pathways))
            slow_in, fast_in = out, out // beta_inv
        self.head = SlowFastHead((slow_in, fast_in), num_classes, dropout, not pyslowfast)
        init_pyslowfast(self, fc_std=0.01, zero_init_final_bn=options.zero_init_final_bn)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        clips = self.input_space(clips)
        slow = clips.index_select(2, slow_frame_indices(clips.shape[2], self.alpha, self.layout)
                                  .to(clips.device))
        xs = self.s1([slow, clips])
        for stage in range(2, 6):
            xs = getattr(self, f"s{stage}")(getattr(self, f"s{stage - 1}_fuse")(xs))
        return self.head(xs)


PYSLOWFAST_KEYS = KeyConvention("facebookresearch/SlowFast", rules=(
    (r"^head\.projection\.", "head.fc."),
))
"""PySlowFast checkpoints (the `model_state` of its files): our names but the classifier's."""

PYTORCHVIDEO_SLOWFAST_KEYS = KeyConvention("facebookresearch/pytorchvideo", rules=(
        (r"^blocks\.0\.multipathway_blocks\.(\d)\.conv\.", r"s1.pathway\1_stem.conv."),
        (r"^blocks\.0\.multipathway_blocks\.(\d)\.norm\.", r"s1.pathway\1_stem.bn."),
        *((rf"^blocks\.{i}\.multipathway_fusion\.conv_fast_to_slow\.", f"s{i + 1}_fuse.conv_f2s.")
          for i in range(4)),
        *((rf"^blocks\.{i}\.multipathway_fusion\.norm\.", f"s{i + 1}_fuse.bn.") for i in range(4)),
        *((rf"^blocks\.{i}\.multipathway_blocks\.(\d)\.res_blocks\.(\d+)\.",
           rf"s{i + 1}.pathway\1_res\2.") for i in range(1, 5)),
        (r"\.branch1_conv\.", ".branch1."), (r"\.branch1_norm\.", ".branch1_bn."),
        (r"\.branch2\.conv_([abc])\.", r".branch2.\1."),
        (r"\.branch2\.norm_([abc])\.", r".branch2.\1_bn."),
        (r"^blocks\.6\.proj\.", "head.fc."),
    ))
"""PyTorchVideo's `create_slowfast` (pytorchvideo/models/slowfast.py): stages as
`blocks.{0-4}`, the pathways as `multipathway_blocks.{0,1}`, the fusion after each stage as
`multipathway_fusion`, the classifier `blocks.6.proj`."""

PATHS = (("slow", 0), ("fast", 1))
MMACTION2_SLOWFAST_KEYS = KeyConvention("open-mmlab/mmaction2", rules=(
    *((rf"^backbone\.{path}_path\.conv1\.conv\.", f"s1.pathway{p}_stem.conv.") for path, p in PATHS),
    *((rf"^backbone\.{path}_path\.conv1\.bn\.", f"s1.pathway{p}_stem.bn.") for path, p in PATHS),
    (r"^backbone\.slow_path\.conv1_lateral\.conv\.", "s1_fuse.conv_f2s."),
    *((rf"^backbone\.slow_path\.layer{i}_lateral\.conv\.", f"s{i + 1}_fuse.conv_f2s.")
      for i in range(1, 4)),
    *((rf"^backbone\.{path}_path\.layer{i}\.(\d+)\.", rf"s{i + 1}.pathway{p}_res\1.")
      for path, p in PATHS for i in range(1, 5)),
    *((rf"\.conv{i}\.conv\.", f".branch2.{name}.") for i, name in ((1, "a"), (2, "b"), (3, "c"))),
    *((rf"\.conv{i}\.bn\.", f".branch2.{name}_bn.") for i, name in ((1, "a"), (2, "b"), (3, "c"))),
    (r"\.downsample\.conv\.", ".branch1."), (r"\.downsample\.bn\.", ".branch1_bn."),
    (r"^cls_head\.fc_cls\.", "head.fc."),
))
"""mmaction2's Recognizer3D with ResNet3dSlowFast (layout `mmaction2`): `backbone.{slow,fast}
_path` with mmcv ConvModules (`conv1.conv`, `conv1.bn`), laterals on the Slow path as
`conv1_lateral` and `layer{1-3}_lateral`, the classifier `cls_head.fc_cls`."""


MMACTION2_METAFILE = ("open-mmlab/mmaction2@4d6c934:configs/recognition/slowfast/metafile.yml, "
                      "slowfast_r50_8xb8-{}x1-256e_kinetics400-rgb")
PYTORCHVIDEO_ZOO = "facebookresearch/pytorchvideo@f3142bb (docs/source, model_zoo.md), Kinetics-400"
AT_TEST_CROP = ("at 256x256, the 3-crop test crop of PySlowFast's Kinetics configs (ours at 224: "
                "{:.2f} G)")

SLOWFAST_PUBLISHED = (
    PublishedCost(Setting.of("resnet50", 32, 256, 400, layout="mmaction2"),
                  MMACTION2_METAFILE.format("4x16"), gflops=36.3, params_m=34.5,
                  note=AT_TEST_CROP.format(27.64) + "; mmaction2's counter also counts BN and "
                       "activations (ours with them: 36.34 G)"),
    PublishedCost(Setting.of("resnet50", 32, 256, 400, alpha=4, fusion_kernel=7,
                             layout="mmaction2"),
                  MMACTION2_METAFILE.format("8x8"), gflops=66.1, params_m=34.6,
                  note=AT_TEST_CROP.format(50.31) + "; ours with BN and activations: 66.07 G"),
    PublishedCost(Setting.of("resnet50", 32, 256, 400, alpha=4, fusion_kernel=7),
                  PYTORCHVIDEO_ZOO + ", SlowFast R50 8x8", gflops=65.71, params_m=34.57,
                  note=AT_TEST_CROP.format(50.31)),
    PublishedCost(Setting.of("resnet50", 32, 256, 400), PYTORCHVIDEO_ZOO + ", SlowFast R50 4x16",
                  params_m=34.48,
                  note="its 36.69 GFLOPs is 1.6 % above ours at 256 (36.10 G, the paper's "
                       "36.1) and matches no crop we tried; see docs/methods/slowfast.md"),
)


@register_method("slowfast", family="3D", options=SlowFastOptions, backbones=tuple(DEPTHS),
                 docs="docs/methods/slowfast.md",
                 description="SlowFast (PySlowFast): Slow pathway on every alpha-th frame of the "
                             "clip, Fast pathway on all of them, lateral fusion; 4x16 by default",
                 checkpoints=(PYSLOWFAST_KEYS, PYTORCHVIDEO_SLOWFAST_KEYS, MMACTION2_SLOWFAST_KEYS),
                 published=SLOWFAST_PUBLISHED,
                 contract_inputs=(ContractInput.of("resnet50", frames=8),
                                  ContractInput.of("resnet50", frames=8, alpha=4, fusion_kernel=7,
                                                   layout="mmaction2")))
def slowfast(ctx: BuildContext) -> nn.Module:
    options: SlowFastOptions = ctx.options
    if ctx.frames % options.alpha:
        raise UserError(f"data.frames: SlowFast with alpha {options.alpha} needs a multiple of "
                        f"{options.alpha} frames (its lateral convs stride time by alpha), got "
                        f"{ctx.frames}")
    return SlowFast(DEPTHS[ctx.backbone], ctx.num_classes, ctx.dropout, ctx.options)
