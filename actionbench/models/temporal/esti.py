"""ESTI (Jiang, Zhang, Hu, "ESTI: an action recognition network with enhanced spatio-temporal
information", Int. J. Mach. Learn. & Cyber. 14(9), 2023), as the authors' code builds it:
Yu0tang/ESTI@ec9f6a0732e1, `ops/esti_net.py` (input side) and `ops/base_module.py` (blocks),
wrapped by `ops/models.py` (TSN head). docs/methods/esti.md holds the whole reading and how the
equality with that code was checked.

- Input: 5 consecutive frames per segment (`ops/dataset.py`, `new_length=5`).
- Motion stem (`ESTI_Net.conv3d_*`): the 5 frames of a segment as a small clip go through a
  3x3x3 Conv3d 3 -> 3 (stride (1, 2, 2), no temporal padding) + BN + ReLU, then two parallel
  3x3x3 Conv3d 3 -> 64 (the second spatially dilated by 2) + BN + ReLU, averaged: 5 frames
  become 1, at the resolution of the ResNet stem's max-pool output.
- Appearance: the centre frame (the third of five) through the ResNet stem (conv1, bn1, ReLU,
  max-pool); the two are mixed w * appearance + (1 - w) * motion, w = 0.5 at 8 segments and
  0.75 otherwise (`esti_net`).
- In every residual block, between conv1 -> bn1 -> ReLU and conv2, on the branch width C':
  x <- shift(x + MSTE(x) + MTA(x)), with
  - MSTE (`MSTEModule`): the channel mean of x, at up to 4 scales (full, 1/2, 1/4, 1/8 by
    average pooling; 4, 3, 2, 1 scales in layer1..layer4), each through a one-channel 3x3x3
    Conv3d + BN, upsampled back (nearest) and averaged; x * (sigmoid - 1/2);
  - MTA (`MultiScaleTemporalAttention`): the spatial mean of x through kernel-3 temporal convs
    C' -> C'/4 (BN, ReLU), C'/4 -> C'/4 (BN, ReLU, plus its input) and C'/4 -> C';
    x * (sigmoid - 1/2);
  - shift (`ShiftModule`): a depthwise kernel-3 temporal convolution initialised as TSM's shift
    (1/8 of the channels from frame t + 1, 1/8 from t - 1, the rest unchanged) and trained.
- Every 2D convolution of the ResNet has a bias (`FBResNet`, `conv3x3`), which torchvision's
  bias-free ImageNet weights leave at PyTorch's default initialisation, as the authors'
  non-strict load of the same file does.
- Head: TSN's dropout, new fc (N(0, 0.001)) and average consensus (`ops/models.py`).

Deviations, none of which changes the function at the authors' setting (8 segments, 224 px):
the authors' MSTE and MTA always assume 8 segments (their `num_segments` default is never
passed), which for other segment counts mixes frames of different clips; here they use the
network's segment count. Their mean of the scales is a weighted sum with weights 1/k (equal up
to rounding). The shift is the same depthwise convolution computed as a Conv3d on the clip
instead of a Conv1d on every pixel's frame sequence.

Parameter names follow the authors' where our layout allows (`conv3d_1`, `mste`,
`t_attention.fc1`, `shift`); `AUTHORS` maps the rest, so checkpoints saved by their code load.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torchvision.models.resnet import ResNet

from ...plan.registry import BuildContext, ContractInput, KeyConvention, register_method
from ..insert import STAGES, insert_before
from ..recognizer2d import build_resnet, check_segment_frames, recognizer_2d
from ..reference_keys import TSN_WRAPPER_RULES

FRAMES_PER_SEGMENT = 5
"""`new_length=5` in the authors' `TSNDataSet`; the motion stem turns exactly 5 frames into 1."""
CENTRE = FRAMES_PER_SEGMENT // 2
"""The segment's frame that the ResNet stem sees (`x3` in `ESTI_Net.forward`)."""
MAX_PATHS = 4

AUTHORS = KeyConvention("Yu0tang/ESTI", rules=(
    (r"^base_model\.layer(\d)_bak\.", r"base_model.layer\1."),
    (r"^base_model\.(conv3d_\d+)\.", r"base_model.motion.\1."),
    *TSN_WRAPPER_RULES,
    (r"\.(mste|t_attention|shift)\.", r".conv2.temporal.\1."),
    *((rf"\.mste\.p{i + 1}_", rf".mste.paths.{i}.") for i in range(MAX_PATHS)),
    (r"\.t_attention\.fc3\.0\.", ".t_attention.fc3."),
    (r"\.shift\.conv\.weight$", ".shift.weight"),
))
"""Yu0tang/ESTI@ec9f6a0732e1: TSM's `TSN` wrapper (`base_model.`, `new_fc`) around `ESTI_Net`,
whose stages are `layerX_bak` and whose blocks hold `mste.p{1..4}_{conv,bn}`, `t_attention` and
`shift.conv` beside conv2."""

PathCount = Annotated[int, Field(ge=1, le=MAX_PATHS)]


class ESTIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: tuple[PathCount, PathCount, PathCount, PathCount] = Field(
        (4, 3, 2, 1), description="MSTE scales in layer1..layer4 (1: full resolution; 2, 3, 4: "
                                  "also 1/2, 1/4, 1/8), the authors' `path_num`")
    attention_div: int = Field(4, ge=1, le=64, description="MTA's channel reduction (`div`)")
    shift_div: int = Field(8, ge=2, description="1/shift_div of the channels shifts each way "
                                                "at initialisation (`n_div`)")
    shift_init: Literal["shift", "fixed", "norm"] = Field(
        "shift", description="initial shift kernel (`mode`): TSM's shift, identity, or PyTorch's "
                             "default random init")
    appearance_weight: float | None = Field(
        None, gt=0, lt=1, description="weight of the centre frame's stem output, the motion stem "
                                      "gets the rest; default 0.5 at 8 segments, else 0.75")


class MotionStem(nn.Module):
    """(B, 3, 5, H, W) segments -> (B, 64, H/4, W/4): the short-term motion of each segment."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv3d_1 = conv3d_bn_relu(3, 3, padding=(0, 1, 1))
        self.conv3d_21 = conv3d_bn_relu(3, channels, padding=(0, 1, 1))
        self.conv3d_22 = conv3d_bn_relu(3, channels, padding=(0, 2, 2), dilation=(1, 2, 2))

    def forward(self, segments: torch.Tensor) -> torch.Tensor:
        x = self.conv3d_1(segments)
        return (0.5 * self.conv3d_21(x) + 0.5 * self.conv3d_22(x)).squeeze(2)


def conv3d_bn_relu(inputs: int, outputs: int, **geometry) -> nn.Sequential:
    """A 3x3x3 conv (with bias, as in the authors' stem), spatial stride 2, BN and ReLU."""
    return nn.Sequential(nn.Conv3d(inputs, outputs, 3, stride=(1, 2, 2), **geometry),
                         nn.BatchNorm3d(outputs), nn.ReLU(inplace=True))


class MotionFusedResNet(nn.Module):
    """The ResNet with ESTI's input side: (N*T, 3, 5, H, W) segments -> (N*T, D) features.

    Holds the ResNet's own layers under their names, so ImageNet weights load as into any ResNet.
    """

    def __init__(self, resnet: ResNet, appearance_weight: float):
        super().__init__()
        self.conv1, self.bn1, self.relu, self.maxpool = (resnet.conv1, resnet.bn1, resnet.relu,
                                                         resnet.maxpool)
        self.motion = MotionStem(resnet.bn1.num_features)
        self.layer1, self.layer2, self.layer3, self.layer4 = (getattr(resnet, s) for s in STAGES)
        self.avgpool, self.fc = resnet.avgpool, resnet.fc
        self.appearance_weight = appearance_weight

    def forward(self, segments: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(segments[:, :, CENTRE]))))
        w = self.appearance_weight
        x = w * x + (1 - w) * self.motion(segments)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def extra_repr(self) -> str:
        return f"appearance_weight={self.appearance_weight}"


class SegmentsAsBatch(nn.Module):
    """Clips (N, C, T*5, H, W), segment after segment -> (N*T, C, 5, H, W)."""

    def __init__(self, segments: int):
        super().__init__()
        self.segments = segments

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = clips.shape
        check_segment_frames(t, self.segments, FRAMES_PER_SEGMENT)
        frames = clips.view(n, c, self.segments, FRAMES_PER_SEGMENT, h, w).transpose(1, 2)
        return frames.reshape(n * self.segments, c, FRAMES_PER_SEGMENT, h, w)


def as_clips(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(N*T, C, H, W) -> (N, C, T, H, W)."""
    nt, c, h, w = x.shape
    return x.view(nt // frames, frames, c, h, w).transpose(1, 2)


def as_frames(clips: torch.Tensor) -> torch.Tensor:
    """(N, C, T, H, W) -> (N*T, C, H, W)."""
    n, c, t, h, w = clips.shape
    return clips.transpose(1, 2).reshape(n * t, c, h, w)


class ExcitationPath(nn.Module):
    """One MSTE scale: the one-channel map average-pooled by `pool`, then a 3x3x3 conv + BN."""

    def __init__(self, pool: int):
        super().__init__()
        self.pool = pool
        self.conv = nn.Conv3d(1, 1, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm3d(1)

    def forward(self, squeezed: torch.Tensor, frames: int) -> torch.Tensor:
        """(N*T, 1, H, W) -> (N, 1, T, H / pool, W / pool)."""
        pooled = F.avg_pool2d(squeezed, self.pool) if self.pool > 1 else squeezed
        return self.bn(self.conv(as_clips(pooled, frames)))

    def extra_repr(self) -> str:
        return f"pool={self.pool}"


class MultiScaleExcitation(nn.Module):
    """MSTE: (N*T, C, H, W) -> x * (sigmoid(s) - 1/2), s a spatio-temporal map shared by all
    channels, the mean of `paths` scales of the channel-mean map."""

    def __init__(self, frames: int, paths: int):
        super().__init__()
        self.frames = frames
        self.paths = nn.ModuleList(ExcitationPath(2 ** i) for i in range(paths))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        coarsest = self.paths[-1].pool
        if min(h, w) < coarsest:
            raise ValueError(f"MSTE with {len(self.paths)} scales pools by {coarsest}, but the "
                             f"feature map is only {h}x{w}: give a larger input or fewer paths")
        squeezed = x.mean(dim=1, keepdim=True)
        size = (self.frames, h, w)
        maps = [path(squeezed, self.frames) for path in self.paths]
        maps = [m if path.pool == 1 else F.interpolate(m, size=size)
                for path, m in zip(self.paths, maps)]
        excitation = as_frames(sum(maps) / len(maps))
        return x * (torch.sigmoid(excitation) - 0.5)

    def extra_repr(self) -> str:
        return f"frames={self.frames}"


class MultiScaleTemporalAttention(nn.Module):
    """MTA: (N*T, C, H, W) -> x * (sigmoid(a) - 1/2), a per-frame channel attention from
    kernel-3 temporal convs over the frames' spatial means."""

    def __init__(self, channels: int, frames: int, div: int):
        super().__init__()
        self.frames = frames
        hidden = channels // div
        self.fc1 = temporal_conv_bn_relu(channels, hidden)
        self.fc2 = temporal_conv_bn_relu(hidden, hidden)
        self.fc3 = nn.Conv3d(hidden, channels, (3, 1, 1), padding=(1, 0, 0), bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        clips = as_clips(x, self.frames)
        first = self.fc1(clips.mean(dim=(3, 4), keepdim=True))
        attention = self.fc3(self.fc2(first) + first)
        return as_frames(clips * (torch.sigmoid(attention) - 0.5))

    def extra_repr(self) -> str:
        return f"frames={self.frames}"


def temporal_conv_bn_relu(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(inputs, outputs, (3, 1, 1), padding=(1, 0, 0), bias=False),
                         nn.BatchNorm3d(outputs), nn.ReLU(inplace=True))


class LearnableShift(nn.Module):
    """(N*T, C, H, W) -> same shape: a depthwise kernel-3 temporal convolution (zero-padded
    ends), `weight[c] = (w_prev, w_self, w_next)`; "shift" starts it as TSM's shift of 1/div of
    the channels from frame t + 1 and 1/div from t - 1, the rest unchanged."""

    def __init__(self, channels: int, frames: int, div: int, init: str):
        super().__init__()
        self.frames = frames
        self.weight = nn.Parameter(torch.zeros(channels, 1, 3))
        fold = channels // div
        if init == "shift":
            self.weight.data[:fold, 0, 2] = 1
            self.weight.data[fold:2 * fold, 0, 0] = 1
            self.weight.data[2 * fold:, 0, 1] = 1
        elif init == "fixed":
            self.weight.data[:, 0, 1] = 1
        else:  # "norm": nn.Conv1d's default initialisation
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = self.weight[..., None, None]
        clips = F.conv3d(as_clips(x, self.frames), kernel, padding=(1, 0, 0), groups=x.shape[1])
        return as_frames(clips)

    def extra_repr(self) -> str:
        return f"frames={self.frames}"


class ESTIBlock(nn.Module):
    """What ESTI puts before conv2 of every block: x -> shift(x + MSTE(x) + MTA(x))."""

    def __init__(self, channels: int, frames: int, paths: int, options: ESTIOptions):
        super().__init__()
        self.mste = MultiScaleExcitation(frames, paths)
        self.t_attention = MultiScaleTemporalAttention(channels, frames, options.attention_div)
        self.shift = LearnableShift(channels, frames, options.shift_div, options.shift_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shift(x + self.mste(x) + self.t_attention(x))


def add_conv_biases(resnet: ResNet) -> None:
    """Give every 2D convolution a bias, initialised as PyTorch initialises conv biases
    (the authors' `FBResNet` builds its convolutions with `bias=True`)."""
    for conv in resnet.modules():
        if isinstance(conv, nn.Conv2d) and conv.bias is None:
            conv.bias = nn.Parameter(torch.empty(conv.out_channels))
            bound = 1 / math.sqrt(conv.weight[0].numel())
            nn.init.uniform_(conv.bias, -bound, bound)


def default_appearance_weight(segments: int) -> float:
    """`esti_net`: 0.5 / 0.5 for 8 segments, 0.75 / 0.25 otherwise."""
    return 0.5 if segments == 8 else 0.75


@register_method(
    "esti", family="2D", options=ESTIOptions, frames_per_segment=FRAMES_PER_SEGMENT,
    docs="docs/methods/esti.md",
    description="ESTI (authors' code): 3D-conv motion stem on 5 frames per segment; multi-scale "
                "spatio-temporal excitation, temporal attention and a learnable shift before "
                "conv2 of every block",
    checkpoints=(AUTHORS,),
    contract_inputs=(ContractInput(),
                     ContractInput.of(frames=3, paths=(2, 2, 1, 1), attention_div=8,
                                      shift_init="norm", appearance_weight=0.5)))
def esti(ctx: BuildContext) -> nn.Module:
    options: ESTIOptions = ctx.options
    resnet = build_resnet(ctx)
    add_conv_biases(resnet)
    for stage, paths in zip(STAGES, options.paths):
        insert_before(resnet, "conv2",
                      lambda block, paths=paths: ESTIBlock(block.bn1.num_features, ctx.frames,
                                                           paths, options),
                      lambda name, index, stage=stage: name == stage)
    weight = options.appearance_weight
    if weight is None:
        weight = default_appearance_weight(ctx.frames)
    return recognizer_2d(ctx, MotionFusedResNet(resnet, weight), SegmentsAsBatch(ctx.frames))
