"""torchvision's ImageNet ResNets, untouched: the temporal methods edit them in place."""

from __future__ import annotations

from torchvision.models import resnet

from ..registry import register_backbone

RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101")

for _name in RESNETS:
    register_backbone(_name)(getattr(resnet, _name))
