"""ESTI (Jiang, Zhang, Hu, Int. J. Mach. Learn. & Cyber. 14(9), 2023), sheet §13:
RECONSTRUCTED FROM THE DESCRIPTION. No code and no paper text were available, only the
abstract: a Local Motion Extraction (LME) module "highlights the short-term temporal context", a
Global Multi-scale Feature Enhancement (GMFE) module "strengthens the spatio-temporal and
channel features to model long-term information", both appended to a 2D ResNet. Everything
below is our design, not the authors'; results of this model are not ESTI's.

- Backbone and head: a torchvision 2D ResNet run on every frame, TSN's dropout + fc
  (N(0, 0.001)) + average consensus, the consensus named in ESTI's README.
- Placement: one LME followed by one GMFE in every residual block, on the residual branch
  after conv1 -> bn1 -> relu and before the 3x3 conv2, where TEA puts its motion excitation and
  multiple temporal aggregation and where TANet's TAM sits. There the branch has C' = C/4
  channels (Bottleneck), so the modules cost little; the identity path keeps the ImageNet
  features; and bn2 right after conv2 largely renormalises the global scale the two
  attentions put on the features, which spares the pretrained network a shock.
- Order: LME first, GMFE second, so the long-range aggregation also carries the motion-enhanced
  features (short-term cues first, long-term context on top, as in TEA).
- LME (short-term motion, in the spirit of STM's CMM and TEA's ME):
  - 1x1 conv C' -> C'/r (r = `reduction`, default 16 as STM's CMM, sheet §10) + BN;
  - motion of frame t: D_t = K * F_(t+1) - F_t, K a depthwise 3x3 conv on the reduced
    channels (STM/TEA); the last frame has no successor and gets D = 0;
  - spatial mean of D_t, then a linear layer C'/r -> C' (with bias; no BN, which would fail on
    a single frame in training) and a sigmoid give a per-frame channel excitation A_t;
  - output x + x * (A_t - 1/2) (TEA's residual form): channels that move are amplified, still
    ones damped, and static appearance is never switched off.
- GMFE (long-term, multi-scale, channel):
  - on the clip (N, C', T, H, W), one depthwise temporal conv of kernel 3 per scale d in
    `scales` (default 1, 2, 3: dilation d, padding d), i.e. windows of 3, 5 and 7 frames, the
    last covering nearly all of an 8-frame clip; their outputs are summed and added to the
    input (y = x + sum_d conv_d(x)); being depthwise and temporal-only they cost 3 C' HW T
    multiply-adds per scale; the spatial part of "spatio-temporal" is left to conv2, which
    follows at once;
  - the temporal convs start at zero, as the non-local block zero-initialises its last BN:
    GMFE begins as a plain channel attention and its temporal mixing grows from nothing
    instead of disturbing the pretrained features at random (zero weights still receive
    gradients);
  - channel attention on the global (T, H, W) mean of y, squeeze-and-excitation style:
    Linear C' -> C'/r, ReLU, Linear C'/r -> C', sigmoid, the same weight for every frame and
    pixel of a clip (the "global", long-term channel context); output y * a.
- Initialisation: PyTorch defaults for every new layer except the zeroed temporal convs; BN
  at (1, 0).
- Options: `reduction` r (LME and the GMFE attention alike) and `scales` (the dilations).
- Cost, ResNet-50, 8 frames, 224^2, 174 classes, by `count_flops`: 33.01 G conv + linear
  MACs (TSN 32.70 G, +0.9 %: 0.16 G in LME's reductions, 0.14 G in GMFE's temporal convs) and
  24.22 M parameters (TSN 23.86 M, +0.36 M).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, PositiveInt
from torch import nn

from ...plan.registry import BuildContext, register_method
from ..insert import insert_before
from ..recognizer2d import build_resnet, recognizer_2d


class ESTIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reduction: int = Field(16, ge=1, description="channel reduction r of the LME motion path and "
                                                 "of the GMFE channel attention")
    scales: tuple[PositiveInt, ...] = Field(
        (1, 2, 3), min_length=1,
        description="dilations of GMFE's kernel-3 temporal convs (window 2d + 1 frames each)")


class LocalMotionExtraction(nn.Module):
    """(N*T, C, H, W) -> same shape: each frame's channels excited by its motion to the next."""

    def __init__(self, channels: int, frames: int, reduction: int):
        super().__init__()
        self.frames = frames
        reduced = max(1, channels // reduction)
        self.reduce = nn.Sequential(nn.Conv2d(channels, reduced, 1, bias=False),
                                    nn.BatchNorm2d(reduced))
        self.transform = nn.Conv2d(reduced, reduced, 3, padding=1, groups=reduced, bias=False)
        self.expand = nn.Linear(reduced, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        features = self.reduce(x)
        clips = features.view(nt // self.frames, self.frames, *features.shape[1:])
        following = self.transform(clips[:, 1:].flatten(0, 1)).view_as(clips[:, 1:])
        motion = F.pad(following - clips[:, :-1], (0, 0, 0, 0, 0, 0, 0, 1))
        excitation = torch.sigmoid(self.expand(motion.mean(dim=(3, 4)))).view(nt, c, 1, 1)
        return x + x * (excitation - 0.5)

    def extra_repr(self) -> str:
        return f"frames={self.frames}"


class GlobalMultiScaleEnhancement(nn.Module):
    """(N*T, C, H, W) -> same shape: multi-scale temporal context, then clip-level channel
    attention."""

    def __init__(self, channels: int, frames: int, reduction: int, scales: tuple[int, ...]):
        super().__init__()
        self.frames = frames
        self.temporal = nn.ModuleList(
            nn.Conv3d(channels, channels, (3, 1, 1), padding=(d, 0, 0), dilation=(d, 1, 1),
                      groups=channels, bias=False) for d in scales)
        for conv in self.temporal:
            nn.init.zeros_(conv.weight)
        hidden = max(1, channels // reduction)
        self.attention = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                       nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        clips = x.view(nt // self.frames, self.frames, c, h, w).transpose(1, 2)
        context = clips + sum(conv(clips) for conv in self.temporal)
        weights = self.attention(context.mean(dim=(2, 3, 4)))
        enhanced = context * weights[:, :, None, None, None]
        return enhanced.transpose(1, 2).reshape(nt, c, h, w)

    def extra_repr(self) -> str:
        return f"frames={self.frames}"


def esti_module(channels: int, frames: int, options: ESTIOptions) -> nn.Sequential:
    return nn.Sequential(OrderedDict(
        lme=LocalMotionExtraction(channels, frames, options.reduction),
        gmfe=GlobalMultiScaleEnhancement(channels, frames, options.reduction, options.scales)))


@register_method("esti", family="2D", options=ESTIOptions, reconstructed=True,
                 docs="docs/methods/esti.md",
                 description="ESTI, reconstructed from the description (no code or paper text): "
                             "local motion excitation + global multi-scale temporal and channel "
                             "enhancement before conv2 of every block")
def esti(ctx: BuildContext) -> nn.Module:
    options: ESTIOptions = ctx.options
    resnet = build_resnet(ctx)
    insert_before(resnet, "conv2",
                  lambda block: esti_module(block.bn1.num_features, ctx.frames, options))
    return recognizer_2d(ctx, resnet)
