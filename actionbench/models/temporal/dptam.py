"""DPTAM: Double Pooling Temporal Attention Module (MIE-Net, li-stu-998/MIE-Net); docs/methods/dptam.md.

A channel-temporal attention placed in every residual block after conv1 -> bn1 -> relu and
before conv2 (TANet's TAM position), on the C' channels of the bottleneck. For x viewed as
(N, C', T, H, W):

- pooling 1: z = spatial mean of x, (N, C', T);
- pooling 2: the temporal mean of z, (N, C', 1);
- one shared pointwise Conv1d W (no bias) on both: u = z + W(z) * W(mean_T z);
- m = sigmoid(Conv1d(C'/4 -> C', 1)(ReLU(BN(Conv1d(C' -> C'/4, k=3, pad 1)(u))))), no biases;
- output x * m, the same weight for every pixel of a channel in a frame.

It costs about 2 C'^2 T multiply-adds per block (0.02 G for ResNet-50 at T = 8, next to its
32.70 G) and 2 C'^2 + C'/2 parameters per block (2.52 M for ResNet-50). This registered method is
the "DPTAM only" model of the MIE-Net README: RGB frames, a plain ResNet with DPTAM, TSN's
dropout + fc + average consensus. PyTorch default initialisation, as the reference code.

Deviations: the reference also creates a `conv_mask` (Conv2d C' -> 1) and a Softmax that
forward never uses; they are left out (C' + 1 parameters less per block). The reference wraps
Bottlenecks only; the placement here also fits BasicBlock ResNets (18/34), C' being the width of
the block's first conv.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import ResNet

from ...plan.registry import BuildContext, KeyConvention, register_method
from ..insert import insert_before
from ..recognizer2d import build_resnet, recognizer_2d
from ..reference_keys import PA_UNUSED, TSN_WRAPPER_RULES

REDUCTION = 4
KERNEL_SIZE = 3

MIENET_DPTAM_RULES = (
    (r"\.tlam\.p1_conv1\.", ".conv2.temporal.context."),
    (r"\.tlam\.dptam\.", ".conv2.temporal.attention."),
    *TSN_WRAPPER_RULES,
)
"""li-stu-998/MIE-Net@8100e30 keeps TSM's `TSN` wrapper and wraps each block as
`layerX.Y.net`, its DPTAM as `layerX.Y.tlam.{p1_conv1,dptam}`."""
MIENET_UNUSED = (*PA_UNUSED, r"^PA\.conv[123]\.", r"\.tlam\.conv_mask\.")
"""What MIE-Net's code creates but its forward never runs: the PA layer's BasicConvs and
bias, and each DPTAM's `conv_mask`."""
MIENET_FOR_DPTAM = KeyConvention("li-stu-998/MIE-Net", rules=MIENET_DPTAM_RULES,
                                 unused=(*MIENET_UNUSED, r"^w$"))
"""MIE-Net's `ops/models.py` creates the AFM weights `w` for every ResNet, but only the RGB +
motion forward reads them: a checkpoint of its DPTAM-only (RGB) model holds an unused `w`."""


class DPTAM(nn.Module):
    """(N*T, C, H, W) -> same shape, each frame's channels rescaled by a temporal attention."""

    def __init__(self, channels: int, frames: int):
        super().__init__()
        self.frames = frames
        self.context = nn.Conv1d(channels, channels, 1, bias=False)
        hidden = channels // REDUCTION
        self.attention = nn.Sequential(
            nn.Conv1d(channels, hidden, KERNEL_SIZE, padding=KERNEL_SIZE // 2, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv1d(hidden, channels, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        clips = x.view(nt // self.frames, self.frames, c, h, w)
        z = clips.mean(dim=(3, 4)).transpose(1, 2)
        u = z + self.context(z) * self.context(z.mean(dim=2, keepdim=True))
        weights = self.attention(u).transpose(1, 2)
        return (clips * weights[..., None, None]).view(nt, c, h, w)

    def extra_repr(self) -> str:
        return f"frames={self.frames}"


def insert_dptam(resnet: ResNet, frames: int) -> None:
    """DPTAM before conv2 of every block, on the block's C' = bn1 width channels."""
    insert_before(resnet, "conv2", lambda block: DPTAM(block.bn1.num_features, frames))


@register_method("dptam", family="2D", docs="docs/methods/dptam.md",
                 description="Double Pooling Temporal Attention Module (MIE-Net's DPTAM only): "
                             "channel-temporal attention before conv2 of every block",
                 checkpoints=(MIENET_FOR_DPTAM,))
def dptam(ctx: BuildContext) -> nn.Module:
    resnet = build_resnet(ctx)
    insert_dptam(resnet, ctx.frames)
    return recognizer_2d(ctx, resnet)
