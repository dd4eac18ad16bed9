"""GST: Grouped Spatial-Temporal aggregation (Luo & Yuille, ICCV 2019); docs/methods/gst.md.

Following chenxuluo/GST-video (`GST.py`), the 3x3 conv2 of every block becomes two parallel
convolutions whose outputs are concatenated along channels before the block's bn2 (so bn2
normalises all P channels, as GST's BatchNorm3d(P) does):

- spatial: 3x3 conv, P/beta -> P(alpha-1)/alpha channels, carrying conv2's stride;
- temporal: 3x3x3 conv, P/beta -> P/alpha channels, same spatial stride, zero-padded in time.

With beta = 2 the spatial path reads the first half of the channels and the temporal path the
second half; with beta = 1 ("GST-Large") both read all P. The spatial conv is GST's
Conv3d(1, 3, 3) written as a per-frame Conv2d; the temporal conv runs on (N, C, T, H, W).

Initialisation as in GST-video: the temporal conv is kaiming-normal (fan_out, relu). The
spatial conv starts from the ImageNet conv2 weights sliced to its first P(alpha-1)/alpha
filters and first P/beta input channels: `GroupedSpatioTemporalConv` does that slicing itself
when a torchvision-style state dict (holding `<block>.conv2.weight`) is loaded into the
network with `load_state_dict(..., strict=False)`. Until weights are loaded, it is
kaiming-normal like the rest of torchvision's ResNet. Deviation, for now: the builder's
ImageNet loader passes on only keys the network has, so `conv2.weight` never reaches the hook
and with `pretrained: imagenet` the spatial conv stays random (everything else loads).

BasicBlock (ResNet-18/34; not in GST's code, which defines only Bottleneck): conv2 is replaced
the same way. It is the 3x3 conv that, like Bottleneck's conv2, reads the output of the
block's first conv -> BN -> ReLU and has P channels in and out; it has stride 1, conv1 keeping
the block's spatial stride. Every ResNet width is a multiple of 64, so alpha must divide 64.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch import nn

from ...plan.registry import (
    BuildContext,
    ContractInput,
    KeyConvention,
    PublishedCost,
    Setting,
    register_method,
)
from ..insert import replace_layer
from ..recognizer2d import build_resnet, recognizer_2d
from ..reference_keys import TSN_WRAPPER_RULES

GST_REPOSITORY = KeyConvention("chenxuluo/GST-video", rules=(
    *TSN_WRAPPER_RULES,
    (r"\.Tconv\.", ".conv2.temporal."),
    (r"(layer\d\.\d+)\.conv2\.weight$", r"\1.conv2.spatial.weight"),
))
"""GST-video keeps TSM's `TSN` wrapper; its grouped conv is `conv2` (the spatial part) and
`Tconv` (the temporal part), with 5-D kernels of a singleton time axis for the spatial one."""


class GSTOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alpha: int = Field(4, ge=2, description="1/alpha of conv2's output channels are temporal "
                       "(3x3x3), the rest spatial (3x3)")
    beta: Literal[1, 2] = Field(2, description="2: each path reads half of the channels; "
                                "1: both read all of them (GST-Large)")

    @field_validator("alpha")
    @classmethod
    def _divides_every_width(cls, alpha: int) -> int:
        if 64 % alpha:
            raise ValueError("alpha must divide 64, the narrowest ResNet block width")
        return alpha


class GroupedSpatioTemporalConv(nn.Module):
    """GST's replacement for a block's 3x3 conv2 on (N*T, C, H, W)."""

    def __init__(self, frames: int, channels: int, stride: int, alpha: int = 4, beta: int = 2):
        super().__init__()
        self.frames = frames
        self.halves = beta == 2
        self.spatial = nn.Conv2d(channels // beta, channels // alpha * (alpha - 1), 3,
                                 stride=stride, padding=1, bias=False)
        self.temporal = nn.Conv3d(channels // beta, channels // alpha, 3,
                                  stride=(1, stride, stride), padding=1, bias=False)
        for conv in (self.spatial, self.temporal):
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        self.register_load_state_dict_pre_hook(slice_full_conv2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.halves:
            spatial_in, temporal_in = x.chunk(2, dim=1)
        else:
            spatial_in = temporal_in = x
        nt, c, h, w = temporal_in.shape
        clips = temporal_in.view(nt // self.frames, self.frames, c, h, w).transpose(1, 2)
        temporal = self.temporal(clips).transpose(1, 2)
        temporal = temporal.reshape(nt, -1, *temporal.shape[-2:])
        return torch.cat([self.spatial(spatial_in), temporal], dim=1)

    def extra_repr(self) -> str:
        return f"frames={self.frames}, halves={self.halves}"


def slice_full_conv2(module: GroupedSpatioTemporalConv, state_dict, prefix, *_) -> None:
    """A plain ResNet's `conv2.weight` (P, P, 3, 3) becomes GST's spatial weight: its first
    P(alpha-1)/alpha filters over its first P/beta input channels (GST-video's resnet50())."""
    full = state_dict.pop(prefix + "weight", None)
    if full is not None:
        out_channels, in_channels = module.spatial.weight.shape[:2]
        state_dict.setdefault(prefix + "spatial.weight", full[:out_channels, :in_channels])


@register_method(
    "gst", family="2D", options=GSTOptions, docs="docs/methods/gst.md",
    description="GST: conv2 of every block split into a 3x3 spatial and a 3x3x3 temporal group "
                "(alpha=4, beta=2; beta=1 is GST-Large)",
    checkpoints=(GST_REPOSITORY,),
    contract_inputs=(ContractInput(), ContractInput.of(beta=1)),
    published=(PublishedCost(Setting.of("resnet50", 8, 224, 174),
                             "GST (Luo & Yuille, ICCV 2019), Table 1: GST-R50 8f", params_m=21.0,
                             note="rounded; the paper's FLOPs figure is discussed in the "
                             "method's note"),))
def gst(ctx: BuildContext) -> nn.Module:
    options: GSTOptions = ctx.options
    resnet = build_resnet(ctx)
    replace_layer(resnet, "conv2", lambda block: GroupedSpatioTemporalConv(
        ctx.frames, block.conv2.in_channels, block.conv2.stride[0], options.alpha, options.beta))
    return recognizer_2d(ctx, resnet)
