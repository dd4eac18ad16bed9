"""STM: SpatioTemporal and Motion encoding (Jiang, Wang, Gan, Wu, Yan, ICCV 2019); docs/methods/stm.md.

Every residual block becomes an STM block: the block's 1x1 reduction (conv1 -> bn1 -> ReLU)
feeds two parallel paths whose outputs are summed, then the block goes on as before (bn2 ->
ReLU -> 1x1 restore conv3 -> bn3, + identity). The paths replace the 3x3 conv2:

- CSTM (channel-wise spatio-temporal module): a depthwise temporal conv of kernel 3 (no bias)
  over each channel's T values, then conv2 itself (3x3, the block's stride, ImageNet weights).
- CMM (channel-wise motion module): 1x1 conv to C/r channels (r = `motion_reduction`, 16)
  + BN; for t < T the motion H_t = K * F_{t+1} - F_t with K a depthwise 3x3 conv; a zero map
  for the last frame; 1x1 conv back to C channels carrying the block's stride, + BN.

No official code is public. The abstract and Figure 3 of the paper fix the block structure
(CSTM and CMM in parallel, replacing every residual block of an ImageNet ResNet-50, no temporal
reduction); the module internals below follow the paper's design as later work describes it,
unverified against its text (docs/methods/stm.md#what-it-is), and where those details are open
these choices are ours:

- The temporal conv starts as a TSM-like shift (first C/4 channels read frame t-1, the middle
  C/2 frame t, the last C/4 frame t+1). With this start and no BN between it and conv2, CSTM
  begins as a shifted ImageNet conv2.
- The sum feeds torchvision's bn2 (the block's ImageNet bn2), so BN follows the CMM convs and
  the sum, but not the temporal conv (a BN there would hold 2C parameters per block, 7,552 for
  ResNet-50; docs/methods/stm.md#our-implementation-and-its-deviations). CMM puts the block's
  stride on its 1x1 expansion, with BN after it (same note).
- New convs use torchvision ResNet's init (kaiming-normal fan_out, relu), BNs weight 1, bias 0.
- BasicBlock (ResNet-18/34; STM is defined on Bottleneck): conv2 is replaced the same way. It
  is the 3x3 conv that, like Bottleneck's conv2, reads the block's first conv -> BN -> ReLU
  output, with C channels in and out; its stride is 1, conv1 keeping the block's stride.

The module keeps conv2 as its child `layer`, so ImageNet weights load into it by name.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ...plan.registry import BuildContext, PublishedCost, Setting, register_method
from ..insert import replace_layer
from ..recognizer2d import build_resnet, recognizer_2d


class STMOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    motion_reduction: int = Field(16, ge=1, le=64, description="CMM works on C / "
                                  "motion_reduction channels (r = 16 in the paper)")


def shift_initialised_temporal_conv(channels: int) -> nn.Conv1d:
    """Depthwise kernel-3 conv over T: taps [1,0,0] (frame t-1) on the first quarter, [0,1,0]
    on the middle half, [0,0,1] (frame t+1) on the last quarter."""
    conv = nn.Conv1d(channels, channels, 3, padding=1, groups=channels, bias=False)
    quarter = channels // 4
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[:quarter, 0, 0] = 1
        conv.weight[quarter:channels - quarter, 0, 1] = 1
        conv.weight[channels - quarter:, 0, 2] = 1
    return conv


def conv_bn(conv: nn.Conv2d) -> nn.Sequential:
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return nn.Sequential(conv, nn.BatchNorm2d(conv.out_channels))


class ChannelwiseMotion(nn.Module):
    """CMM on (N*T, C, H, W) -> (N*T, C, H/stride, W/stride)."""

    def __init__(self, frames: int, channels: int, stride: int, reduction: int = 16):
        super().__init__()
        self.frames = frames
        reduced = channels // reduction
        self.reduce = conv_bn(nn.Conv2d(channels, reduced, 1, bias=False))
        self.transform = nn.Conv2d(reduced, reduced, 3, padding=1, groups=reduced, bias=False)
        nn.init.kaiming_normal_(self.transform.weight, mode="fan_out", nonlinearity="relu")
        self.expand = conv_bn(nn.Conv2d(reduced, channels, 1, stride=stride, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.reduce(x)
        nt, c, h, w = features.shape
        clips = features.view(nt // self.frames, self.frames, c, h, w)
        transformed = self.transform(features).view_as(clips)
        motion = transformed[:, 1:] - clips[:, :-1]
        motion = torch.cat([motion, torch.zeros_like(clips[:, :1])], dim=1)
        return self.expand(motion.view(nt, c, h, w))


class STMConv(nn.Module):
    """CSTM(x) + CMM(x) in place of a block's conv2 (`layer`)."""

    def __init__(self, frames: int, layer: nn.Conv2d, reduction: int = 16):
        super().__init__()
        self.frames = frames
        self.temporal = shift_initialised_temporal_conv(layer.in_channels)
        self.layer = layer
        self.motion = ChannelwiseMotion(frames, layer.in_channels, layer.stride[0], reduction)

    def channelwise_temporal(self, x: torch.Tensor) -> torch.Tensor:
        """(N*T, C, H, W) -> (N*H*W, C, T) -> depthwise temporal conv -> back."""
        nt, c, h, w = x.shape
        series = x.view(nt // self.frames, self.frames, c, h, w).permute(0, 3, 4, 2, 1)
        mixed = self.temporal(series.reshape(-1, c, self.frames))
        mixed = mixed.view(nt // self.frames, h, w, c, self.frames).permute(0, 4, 3, 1, 2)
        return mixed.reshape(nt, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(self.channelwise_temporal(x)) + self.motion(x)

    def extra_repr(self) -> str:
        return f"frames={self.frames}"


@register_method(
    "stm", family="2D", options=STMOptions, min_frames=2, docs="docs/methods/stm.md",
    description="STM: channel-wise spatio-temporal (CSTM) + motion (CMM) paths in place of "
                "conv2 of every block",
    published=(PublishedCost(Setting.of("resnet50", 8, 224, 174),
                             "STM (Jiang et al., ICCV 2019), Table 1: STM 8f", gflops=33.3,
                             params_m=24.0, note="rounded; see the method's note for what the "
                             "extra 0.3 G may count"),))
def stm(ctx: BuildContext) -> nn.Module:
    options: STMOptions = ctx.options
    resnet = build_resnet(ctx)
    replace_layer(resnet, "conv2",
                  lambda block: STMConv(ctx.frames, block.conv2, options.motion_reduction))
    return recognizer_2d(ctx, resnet)
