"""torchvision's ImageNet ResNets, untouched: the temporal methods edit them in place."""

from __future__ import annotations

import torch
from torchvision.models import resnet

from ...plan.registry import register_backbone

RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101")

for _name in RESNETS:
    register_backbone(_name)(getattr(resnet, _name))


def spread_rgb_kernels(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """A first-conv weight for `in_channels` inputs whose every input slice is the mean of the
    RGB kernels: how PAN and MIE-Net widen conv1, and how ImageNet weights are mapped onto a
    widened conv1."""
    return weight.mean(dim=1, keepdim=True).expand(-1, in_channels, -1, -1).clone()
