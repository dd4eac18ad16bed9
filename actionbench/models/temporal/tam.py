"""TAM (IBM): the temporal aggregation module of "More Is Less" (Fan et al., NeurIPS 2019),
as re-implemented in IBM/action-recognition-pytorch (Chen et al., CVPR 2021); docs/methods/tam.md.

Not liu-zhy's "Temporal Adaptive Module" (TANet, Liu et al., ICCV 2021), which shares the name;
docs/methods/tam.md#what-it-is says how they differ.

In every residual block (Bottleneck and BasicBlock alike) the residual branch first blends
each frame with its neighbours: `blending_frames` depthwise 1x1 convolutions (no bias) on the
block's input channels, the i-th one reading frame t + i - k//2 (zeros outside the clip), then
sum (or max) and ReLU. With the default k = 3 these are IBM's prev / curr / next convolutions,
kept here as `blend.0`, `blend.1`, `blend.2`; the whole is a per-channel temporal convolution of
kernel 3. The identity path sees the unblended input, as in IBM's blocks.

`temporal_pool` adds IBM's temporal max pooling (kernel 3, stride 2, padding 1 over T) after
layer1, layer2 and layer3 (its default without `--without_t_stride`, tagged "-ts"), placed at
the input of layer2-4; the TAMs of later stages are built for the shortened clip. IBM halves T
with `//`, which only fits the pooled length for even T; we use the pooled length itself,
ceil(T / 2), so odd T works too. Once a stage is down to one frame (layer4 at T = 8), its TAMs'
neighbour convs see only the zero padding and never learn; IBM's "-ts" models carry the same
idle weights, and we keep them so the parameters match.

Key layout against IBM's checkpoints: their `layerX.Y.tam.{prev,curr,next}_se.fc1.weight` is
our `layerX.Y.conv1.temporal.blend.{0,1,2}.weight`.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ...plan.registry import BuildContext, ContractInput, PublishedCost, Setting, register_method
from ..inception2d import (
    IBM_INCEPTION_TAM_KEYS,
    INCEPTION_CONTRACT_INPUTS,
    TAM_INCEPTION_PUBLISHED,
    tam_inception_v1,
)
from ..insert import STAGES, Before, insert_before
from ..recognizer2d import build_resnet, recognizer_2d
from ..reference_keys import IBM, IBM_COST


class TAMOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    blending_frames: int = Field(3, ge=1, description="neighbouring frames blended (k): one "
                                 "depthwise 1x1 conv per offset -k//2 .. k-1-k//2")
    blending_method: Literal["sum", "max"] = Field("sum", description="how the k frames combine")
    dw_conv: bool = Field(True, description="depthwise 1x1 convs; false: full 1x1 convs (IBM's "
                          "'-allc')")
    temporal_pool: bool = Field(False, description="IBM's temporal max pooling (kernel 3, stride "
                                "2) after layer1-3, which halves T each time")


def shift_frames(x: torch.Tensor, offset: int) -> torch.Tensor:
    """(N, T, ...) -> out[:, t] = x[:, t + offset], zero where t + offset is outside the clip."""
    if offset == 0:
        return x
    frames = x.shape[1]
    pad = [0, 0] * (x.dim() - 2) + ([0, offset] if offset > 0 else [-offset, 0])
    start = max(offset, 0)
    return F.pad(x, pad)[:, start:start + frames]


class TAM(nn.Module):
    """IBM's temporal aggregation module on (N*T, C, H, W); IBM's init (kaiming fan_out)."""

    def __init__(self, frames: int, channels: int, blending_frames: int = 3,
                 blending_method: str = "sum", dw_conv: bool = True):
        super().__init__()
        self.frames = frames
        self.blending_method = blending_method
        self.offsets = [i - blending_frames // 2 for i in range(blending_frames)]
        groups = channels if dw_conv else 1
        self.blend = nn.ModuleList(nn.Conv2d(channels, channels, 1, groups=groups, bias=False)
                                   for _ in self.offsets)
        for conv in self.blend:
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        blended = torch.stack([
            shift_frames(conv(x).view(nt // self.frames, self.frames, c, h, w), offset)
            for conv, offset in zip(self.blend, self.offsets)])
        out = blended.sum(0) if self.blending_method == "sum" else blended.amax(0)
        return torch.relu(out).view(nt, c, h, w)

    def extra_repr(self) -> str:
        return f"frames={self.frames}, offsets={self.offsets}, method={self.blending_method}"


class TemporalMaxPool(nn.Module):
    """IBM's TemporalPooling in 'max' mode: kernel 3, stride 2, padding 1 over T."""

    def __init__(self, frames: int):
        super().__init__()
        self.frames = frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        clips = x.view(nt // self.frames, self.frames, c, h, w).transpose(1, 2)
        pooled = F.max_pool3d(clips, kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))
        return pooled.transpose(1, 2).reshape(-1, c, h, w)

    def extra_repr(self) -> str:
        return f"frames={self.frames}"


def pooled_frames(frames: int) -> int:
    """Length of the clip after TemporalMaxPool: ceil(T / 2)."""
    return (frames - 1) // 2 + 1


@register_method(
    "tam", family="2D", options=TAMOptions, docs="docs/methods/tam.md",
    description="TAM (IBM, 'More Is Less'): depthwise temporal aggregation of neighbouring "
                "frames before conv1 of every block",
    backbones=("resnet50", "resnet18", "resnet34", "resnet101", "inception_v1"),
    checkpoints=(IBM, IBM_INCEPTION_TAM_KEYS),
    contract_inputs=(ContractInput(), ContractInput.of(frames=16, temporal_pool=True),
                 ContractInput.of(blending_frames=5, blending_method="max", dw_conv=False),
                 *INCEPTION_CONTRACT_INPUTS["tam"]),
    published=(
        PublishedCost(Setting.of("resnet50", 8, 224, 87), IBM_COST, gflops=32.831963136,
                      params_m=23.725655, exact=True),
        PublishedCost(Setting.of("resnet18", 8, 224, 87), IBM_COST, gflops=14.530768896,
                      params_m=11.225559, exact=True),
        *TAM_INCEPTION_PUBLISHED,
    ))
def tam(ctx: BuildContext) -> nn.Module:
    if ctx.backbone == "inception_v1":
        return tam_inception_v1(ctx)
    options: TAMOptions = ctx.options
    resnet = build_resnet(ctx)
    stage_frames = [ctx.frames]
    for _ in STAGES[1:]:
        previous = stage_frames[-1]
        stage_frames.append(pooled_frames(previous) if options.temporal_pool else previous)

    for stage, frames in zip(STAGES, stage_frames):
        def make(block, frames=frames):
            return TAM(frames, block.conv1.in_channels, options.blending_frames,
                       options.blending_method, options.dw_conv)

        insert_before(resnet, "conv1", make, lambda name, _, stage=stage: name == stage)
    if options.temporal_pool:  # after layer1-3, i.e. at the input of layer2-4
        for stage, frames in zip(STAGES[1:], stage_frames):
            setattr(resnet, stage, Before(TemporalMaxPool(frames), getattr(resnet, stage)))
    return recognizer_2d(ctx, resnet)
