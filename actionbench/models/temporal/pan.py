"""PAN_Lite: Persistence of Appearance (Zhang, Zou, Chen, Gan; arXiv 2008.03462); docs/methods/pan.md.

Three parts around a TSM ResNet:

- the PA layer: a shared 7x7 conv (3 -> 8) on the m = 4 consecutive frames of a segment, and
  the pixel-wise L2 distance over those 8 channels between neighbouring frames: 3 motion maps
  at full resolution, the cheap stand-in for optical flow;
- early fusion ("Lite"): the segment's first RGB frame and its 3 PA maps as one 6-channel
  image, read by a ResNet whose conv1 takes 6 channels (each initialised to the mean RGB kernel);
- the VAP head: max pooling over the T frame features at timescales 1, 2, 4, ..., a tiny MLP
  (TES) that weights the pooled vectors, then dropout and the classifier.

The backbone is TSM (the reference code's default `--base TSM`: residual shift of 1/8 of the
channels each way), so PAN_Lite costs TSM's 32.70 G plus the PA conv (1.888 G at T = 8, 224^2)
and the wider conv1 (0.944 G): 35.53 G against the published 35.7 G; 23.88 M parameters at 174
classes.

Deviations from the reference code (zhang-can/PAN-PyTorch):

- The PA conv has no bias. In the original it exists (initialised to 0) but cancels exactly in
  F_i - F_{i+1}, so it never changes the output and never receives a gradient; 8 parameters less.
- VAP accepts any T >= 2 (see `VAPHead`); the original crashes unless T is a multiple of
  2^(levels - 1), and for those T both agree.
- The first-conv learning-rate multipliers (x5 weight, x10 bias) belong to the optimiser, not
  to the network, and are not applied here. In PAN's code they fall on the first convolution
  registered, the PA conv, not the widened conv1 (docs/methods/pan.md#published-numbers).
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torchvision.models.resnet import ResNet

from ...plan.registry import BuildContext, KeyConvention, PublishedCost, Setting, register_method
from ..backbones.resnet import spread_rgb_kernels
from ..insert import insert_before
from ..recognizer2d import build_resnet, check_segment_frames, new_classifier, recognizer_2d
from ..reference_keys import PA_RULES, PA_UNUSED, TSN_WRAPPER_RULES
from .tsm import TemporalShift, shifted_blocks

PAN_REPOSITORY = KeyConvention("zhang-can/PAN-PyTorch", rules=(
    *PA_RULES,
    (r"^base_model\.fc\.TES\.", "head.tes."),
    (r"^base_model\.fc\.pred\.", "head.fc."),
    *TSN_WRAPPER_RULES,
), unused=PA_UNUSED)
"""TSM's naming, with the PA layer as `PA.shallow_conv` and the VAP head as
`base_model.fc.{TES,pred}`."""

FRAMES_PER_SEGMENT = 4
"""PAN's m: consecutive frames per segment, giving m - 1 = 3 PA maps (PAN-PyTorch main.py
data_length = 4; docs/methods/pan.md#what-it-is)."""
LITE_FIRST_CONV_LR_MULT = 5.0
"""TSN's policy gives the first conv x5 (bias x10) for PAN's and MIE-Net's `Lite` modality
(zhang-can/PAN-PyTorch@2d96513b11cf, li-stu-998/MIE-Net@8100e30530c3: ops/models.py
get_optim_policies); that conv is the PA layer's, the first in module order here as there."""
PA_FEATURES = 8
PA_EPS = 1e-6
"""Added to the feature difference before the norm, as `nn.PairwiseDistance` does."""


class PANOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shift: bool = Field(True, description="TSM residual shift in every block (PAN's default "
                                          "backbone); false gives a plain ResNet")
    shift_div: int = Field(8, ge=2, description="1/shift_div of the channels moves each way")


class PersistenceOfAppearance(nn.Module):
    """The PA layer: (B, m, 3, H, W) frames -> (B, m - 1, H, W) maps.

    PA_i = ||F_i - F_{i+1} + 1e-6||_2 over the 8 channels of the shared conv's features F, pixel
    by pixel (the norm over channels that old PyTorch's `PairwiseDistance` computed;
    docs/methods/pan.md#our-implementation-and-its-deviations).
    `init_std`: PAN initialises the conv N(0, init_std) (0.001); None keeps PyTorch's default
    init, as MIE-Net does (docs/methods/mienet.md#what-it-is).
    """

    def __init__(self, init_std: float | None = 0.001):
        super().__init__()
        self.conv = nn.Conv2d(3, PA_FEATURES, kernel_size=7, padding=3, bias=False)
        if init_std is not None:
            nn.init.normal_(self.conv.weight, 0, init_std)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, m, c, h, w = frames.shape
        features = self.conv(frames.reshape(b * m, c, h, w)).view(b, m, PA_FEATURES, h, w)
        return torch.linalg.vector_norm(features[:, :-1] - features[:, 1:] + PA_EPS, dim=2)


class PersistenceStem(nn.Module):
    """Clips (N, 3, T*m, H, W), segment after segment -> (N*T, 6, H, W) network input.

    Each segment contributes its first frame (3 RGB channels) and the m - 1 = 3 PA maps of its
    m frames; `fuse` joins them (PAN_Lite: a plain concatenation; MIE-Net's AFM overrides it).
    """

    def __init__(self, segments: int, pa_init_std: float | None = 0.001):
        super().__init__()
        self.segments = segments
        self.pa = PersistenceOfAppearance(pa_init_std)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = clips.shape
        check_segment_frames(t, self.segments, FRAMES_PER_SEGMENT)
        frames = clips.transpose(1, 2).reshape(n * self.segments, FRAMES_PER_SEGMENT, c, h, w)
        return self.fuse(frames[:, 0], self.pa(frames))

    def fuse(self, rgb: torch.Tensor, pa: torch.Tensor) -> torch.Tensor:
        return torch.cat([rgb, pa], dim=1)


def widen_first_conv(resnet: ResNet, in_channels: int) -> None:
    """Replace conv1 by one reading `in_channels` channels, each kernel slice the mean of the
    old RGB kernels (PAN's `_construct_pa_model`; the same mapping suits ImageNet weights)."""
    old = resnet.conv1
    new = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                    bias=old.bias is not None)
    with torch.no_grad():
        new.weight.copy_(spread_rgb_kernels(old.weight, in_channels))
        if old.bias is not None:
            new.bias.copy_(old.bias)
    resnet.conv1 = new


class VAPHead(nn.Module):
    """Various-timescale Aggregation Pooling (PAN-PyTorch ops/PAN_modules.py VAP;
    docs/methods/pan.md#what-it-is): (N*T, D) features -> (N, K) logits.

    levels = floor(log2 T); timescale tau = 2^i (i < levels) gives tau vectors, vector j being
    the max over frames j, j + tau, j + 2 tau, ... (the reference's MaxPool3d with kernel T/tau
    and dilation tau): 1 + 2 + 4 = 7 vectors for T = 8. Their channel means go through TES
    (Linear P -> 4P -> P, no bias, ReLU between) and a softmax; the weighted sum of the vectors
    goes through dropout and the classifier. All Linear layers N(0, 0.001), biases 0.

    For T that the reference handles (T a multiple of 2^(levels - 1), e.g. 2, 4, 6, 8, 12, 16)
    the groups are exactly its pooling windows. For other T (5, 7, 10, ...) the reference's
    pooling yields more vectors than TES takes and crashes; here the interleaved groups simply
    have unequal sizes, so every T >= 2 works.
    """

    def __init__(self, segments: int, in_features: int, num_classes: int, dropout: float):
        super().__init__()
        if segments < 2:
            raise ValueError(f"VAP needs at least 2 segments, got {segments}")
        self.segments = segments
        self.timescales = tuple(2 ** i for i in range(segments.bit_length() - 1))
        pooled = sum(self.timescales)
        self.tes = nn.Sequential(nn.Linear(pooled, 4 * pooled, bias=False), nn.ReLU(inplace=True),
                                 nn.Linear(4 * pooled, pooled, bias=False))
        for layer in self.tes:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, 0, 0.001)
        self.dropout = nn.Dropout(dropout)
        self.fc = new_classifier(in_features, num_classes)

    def pool(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, T, D) -> (N, P, D): the max over each timescale's interleaved frame groups."""
        return torch.stack([frames[:, j::tau].amax(dim=1)
                            for tau in self.timescales for j in range(tau)], dim=1)

    def forward(self, features: torch.Tensor, batch: int) -> torch.Tensor:
        pooled = self.pool(features.view(batch, self.segments, -1))
        weights = self.tes(pooled.mean(dim=2)).softmax(dim=1)
        return self.fc(self.dropout((pooled * weights.unsqueeze(2)).sum(dim=1)))


@register_method(
    "pan", family="2D", options=PANOptions, min_frames=2, frames_per_segment=FRAMES_PER_SEGMENT,
    first_conv_lr_mult=LITE_FIRST_CONV_LR_MULT, docs="docs/methods/pan.md",
    description="PAN_Lite: RGB + persistence-of-appearance maps (4 frames per segment) in a "
                "6-channel TSM ResNet, VAP head",
    checkpoints=(PAN_REPOSITORY,),
    published=(PublishedCost(Setting.of("resnet50", 8, 224, 174),
                             "zhang-can/PAN-PyTorch@2d96513:README.md, PAN_Lite", gflops=35.7,
                             note="rounded; its extra 0.2 G is not documented"),))
def pan(ctx: BuildContext) -> nn.Module:
    options: PANOptions = ctx.options
    resnet = build_resnet(ctx)
    widen_first_conv(resnet, 3 + FRAMES_PER_SEGMENT - 1)
    if options.shift:
        insert_before(resnet, "conv1", lambda block: TemporalShift(ctx.frames, options.shift_div),
                      shifted_blocks(resnet))
    head = VAPHead(ctx.frames, resnet.fc.in_features, ctx.num_classes, ctx.dropout)
    return recognizer_2d(ctx, resnet, PersistenceStem(ctx.frames), head)
