"""The 2D recogniser shared by every TSN-style method: a stem that turns clips into a batch
of frames, a per-frame ResNet (with the method's temporal modules inside), and a head that
classifies and forms the segment consensus.

Methods change only the part they are about: PAN swaps the stem (persistence of appearance)
and the head (VAP); TSM, TAM, GST, ... edit the backbone and keep the defaults.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import ResNet

from ..plan.registry import BACKBONES, BuildContext


def build_resnet(ctx: BuildContext) -> ResNet:
    return BACKBONES[ctx.backbone]()


def new_classifier(in_features: int, num_classes: int) -> nn.Linear:
    """A fresh fc initialised N(0, 0.001) with zero bias, as TSN, TSM and their followers do."""
    fc = nn.Linear(in_features, num_classes)
    nn.init.normal_(fc.weight, 0, 0.001)
    nn.init.zeros_(fc.bias)
    return fc


def check_segment_frames(frames: int, segments: int, per_segment: int) -> None:
    """Networks that read several frames per segment (PAN, MIE-Net, ESTI) are built for one
    clip length; another would be split into the wrong segments without an error."""
    expected = segments * per_segment
    if frames != expected:
        raise ValueError(f"model built for {segments} segments x {per_segment} frames = {expected} "
                         f"frames, got clips with {frames}")


class FramesAsBatch(nn.Module):
    """(N, C, T, H, W) -> (N*T, C, H, W): every frame goes through the 2D network.

    `frames`: the clip length the temporal modules were built for, checked on every batch;
    None for a network that takes any length (TSN)."""

    def __init__(self, frames: int | None):
        super().__init__()
        self.frames = frames

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = clips.shape
        if self.frames is not None and t != self.frames:
            raise ValueError(f"model built for {self.frames} frames, got clips with {t}")
        return clips.transpose(1, 2).reshape(n * t, c, h, w)


class AverageConsensusHead(nn.Module):
    """Dropout, a per-frame fc, then the mean of the per-frame logits (TSN's consensus).

    The number of frames is read from the batch, so temporal pooling inside the backbone
    needs nothing special here.
    """

    def __init__(self, in_features: int, num_classes: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = new_classifier(in_features, num_classes)

    def forward(self, features: torch.Tensor, batch: int) -> torch.Tensor:
        logits = self.fc(self.dropout(features))
        return logits.view(batch, -1, logits.shape[-1]).mean(dim=1)


class Recognizer2D(nn.Module):
    """Clips (N, C, T, H, W) -> stem -> backbone (fc removed) -> head -> logits (N, K)."""

    def __init__(self, backbone: ResNet, stem: nn.Module, head: nn.Module):
        super().__init__()
        backbone.fc = nn.Identity()
        self.stem = stem
        self.backbone = backbone
        self.head = head

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(self.stem(clips)), clips.shape[0])


def recognizer_2d(ctx: BuildContext, backbone: ResNet | None = None, stem: nn.Module | None = None,
                  head: nn.Module | None = None) -> Recognizer2D:
    """A Recognizer2D with the default stem and head unless the method brings its own."""
    backbone = backbone or build_resnet(ctx)
    feature_dim = backbone.fc.in_features
    return Recognizer2D(backbone, stem or FramesAsBatch(ctx.frames),
                        head or AverageConsensusHead(feature_dim, ctx.num_classes, ctx.dropout))
