"""MIE-Net: Motion Information Enhancement Network (li-stu-998/MIE-Net); docs/methods/mienet.md.

PAN_Lite's input side with an adaptive fusion, and DPTAM instead of TSM for temporal modelling:

- AFM (Adaptive Fusion Module): from each segment's first RGB frame and its 3 PA maps (PAN's
  PA layer, m = 4, here with PyTorch's default conv init as in the MIE-Net code),
  s = sigmoid(GAP(RGB + PA)) gates both, RGB' = s * RGB and PA' = s * PA, and a learnable
  2-vector (initialised to ones, so both weights start at 0.5) weights them through a softmax:
  cat([w1 RGB', w2 PA']) is the 6-channel input of PAN's widened conv1 (mean-RGB kernels);
- DPTAM in every block before conv2; no temporal shift (the MIE-Net code's `--shift` is off);
- head: TSN's dropout + fc + average consensus. The code's forward returns the consensus of
  `new_fc` outputs with `has_VAP` off (its `new_fc` is never created, one of the release's bugs
  listed in docs/methods/mienet.md#how-the-source-counts-cost); the 26.40 M a reference-built
  model would count includes that K-class fc.

Cost at ResNet-50, T = 8, 224^2: PAN_Lite's stem cost without any shift, 32.70 + 1.888 (PA conv)
+ 0.944 (6-channel conv1) + 0.02 (DPTAM) = 35.55 G; no cost is published
(docs/methods/mienet.md#our-measured-cost).

Parameters: a model built by the reference code counts 26.40 M (K = 174), including layers it
creates but never runs (docs/methods/mienet.md#our-measured-cost):
16 DPTAM `conv_mask` convs (sum of C' + 1 = 3,792) and the PA layer's three BasicConvs (393). They
are not built here, and neither is the PA conv bias (8), which cancels in F_i - F_{i+1} (see
pan.py). Used layers only: 23,508,032 (ResNet-50 without fc) + 9,408 (conv1's 3 extra input
channels) + 1,176 (PA conv) + 2 (AFM weights) + 2,516,832 (DPTAM) + 356,526 (fc) =
26,391,976 = 26.39 M.
"""

from __future__ import annotations

import torch
from torch import nn

from ...plan.registry import BuildContext, KeyConvention, register_method
from ..recognizer2d import build_resnet, recognizer_2d
from ..reference_keys import PA_RULES
from .dptam import MIENET_DPTAM_RULES, MIENET_UNUSED, insert_dptam
from .pan import FRAMES_PER_SEGMENT, LITE_FIRST_CONV_LR_MULT, PersistenceStem, widen_first_conv

MIENET = KeyConvention("li-stu-998/MIE-Net", rules=(
    *PA_RULES,
    (r"^w$", "stem.modality_logits"),
    *MIENET_DPTAM_RULES,
), unused=MIENET_UNUSED)


class AdaptiveFusionStem(PersistenceStem):
    """PAN's stem with AFM's gated, softmax-weighted fusion of RGB and PA (MIE-Net
    ops/models.py forward; docs/methods/mienet.md#what-it-is)."""

    def __init__(self, segments: int):
        super().__init__(segments, pa_init_std=None)
        self.modality_logits = nn.Parameter(torch.ones(2))

    def fuse(self, rgb: torch.Tensor, pa: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid((rgb + pa).mean(dim=(2, 3), keepdim=True))
        w_rgb, w_pa = self.modality_logits.softmax(dim=0)
        return torch.cat([w_rgb * gate * rgb, w_pa * gate * pa], dim=1)


@register_method("mienet", family="2D", frames_per_segment=FRAMES_PER_SEGMENT,
                 first_conv_lr_mult=LITE_FIRST_CONV_LR_MULT, docs="docs/methods/mienet.md",
                 description="MIE-Net: adaptive fusion of RGB and persistence-of-appearance "
                             "maps (4 frames per segment), DPTAM in every block",
                 checkpoints=(MIENET,))
def mienet(ctx: BuildContext) -> nn.Module:
    resnet = build_resnet(ctx)
    widen_first_conv(resnet, 3 + FRAMES_PER_SEGMENT - 1)
    insert_dptam(resnet, ctx.frames)
    return recognizer_2d(ctx, resnet, AdaptiveFusionStem(ctx.frames))
