"""The residual building blocks of PySlowFast's video ResNets, shared by SlowFast and X3D.

Modules and parameters are laid out and named as in facebookresearch/SlowFast@287ec00
(slowfast/models/resnet_helper.py, stem_helper.py): a stage holds `pathway{p}_res{i}` blocks,
a block `branch1` (+ `branch1_bn`) on the shortcut and its transform `branch2` with convs
`a`, `b`, `c` and their `*_bn`; a stem `pathway{p}_stem`. PySlowFast's checkpoints therefore
load with no renaming but the classifier's, and the other zoos map onto one layout. BatchNorm
keeps PyTorch's eps 1e-5 and momentum 0.1, which PySlowFast uses (`BN` defaults).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def round_width(width: float, multiplier: float, min_width: int = 1, divisor: int = 1) -> int:
    """X3D's channel rounding (PySlowFast slowfast/models/utils.py `round_width`): the nearest
    multiple of `divisor`, never more than 10 % below the exact width."""
    width *= multiplier
    rounded = max(min_width, int(width + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * width else rounded)


def round_repeats(repeats: int, multiplier: float) -> int:
    return int(math.ceil(multiplier * repeats))


def bn(channels: int) -> nn.BatchNorm3d:
    return nn.BatchNorm3d(channels, eps=1e-5, momentum=0.1)


class BottleneckTransform(nn.Module):
    """a: (kt, 1, 1) -> b: (1, 3, 3), strided in space -> c: 1x1x1 (ResNet-50 style, the
    temporal kernel on the first conv: SlowFast's 'bottleneck_transform')."""

    def __init__(self, cin: int, cout: int, inner: int, time_kernel: int, stride: int):
        super().__init__()
        self.a = nn.Conv3d(cin, inner, (time_kernel, 1, 1), padding=(time_kernel // 2, 0, 0),
                           bias=False)
        self.a_bn = bn(inner)
        self.b = nn.Conv3d(inner, inner, (1, 3, 3), stride=(1, stride, stride),
                           padding=(0, 1, 1), bias=False)
        self.b_bn = bn(inner)
        self.c = nn.Conv3d(inner, cout, 1, bias=False)
        self.c_bn = bn(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.a_bn(self.a(x)))
        x = torch.relu(self.b_bn(self.b(x)))
        return self.c_bn(self.c(x))


class SqueezeExcitation(nn.Module):
    """PySlowFast's SE (slowfast/models/operators.py): global mean, 1x1x1 conv, ReLU, 1x1x1
    conv, sigmoid gate; the squeezed width rounded to a multiple of 8."""

    def __init__(self, channels: int, ratio: float = 0.0625):
        super().__init__()
        squeezed = round_width(channels, ratio, min_width=8, divisor=8)
        self.fc1 = nn.Conv3d(channels, squeezed, 1)
        self.fc2 = nn.Conv3d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3, 4), keepdim=True))))
        return x * torch.sigmoid(gate)


class X3DTransform(nn.Module):
    """a: 1x1x1 -> b: depthwise 3x3x3, strided in space -> BN -> SE (every other block) ->
    swish -> c: 1x1x1 (X3D's 'x3d_transform')."""

    def __init__(self, cin: int, cout: int, inner: int, stride: int, squeeze: bool):
        super().__init__()
        self.a = nn.Conv3d(cin, inner, 1, bias=False)
        self.a_bn = bn(inner)
        self.b = nn.Conv3d(inner, inner, 3, stride=(1, stride, stride), padding=1,
                           groups=inner, bias=False)
        self.b_bn = bn(inner)
        self.se = SqueezeExcitation(inner) if squeeze else nn.Identity()
        self.c = nn.Conv3d(inner, cout, 1, bias=False)
        self.c_bn = bn(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.a_bn(self.a(x)))
        x = nn.functional.silu(self.se(self.b_bn(self.b(x))))
        return self.c_bn(self.c(x))


class ResBlock(nn.Module):
    """relu(shortcut(x) + branch2(x)); the shortcut is a strided 1x1x1 conv (+ BN unless
    `shortcut_bn` is off) when the width or the stride changes, else the identity."""

    def __init__(self, cin: int, cout: int, stride: int, branch2: nn.Module,
                 shortcut_bn: bool = True):
        super().__init__()
        if cin != cout or stride != 1:
            self.branch1 = nn.Conv3d(cin, cout, 1, stride=(1, stride, stride), bias=False)
            self.branch1_bn = bn(cout) if shortcut_bn else nn.Identity()
        self.branch2 = branch2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.branch1_bn(self.branch1(x)) if hasattr(self, "branch1") else x
        return torch.relu(shortcut + self.branch2(x))


class Pathways(nn.Module):
    """One stage over several pathways: `pathway{p}_{kind}{i}` modules applied in order to the
    p-th tensor of a list (PySlowFast's VideoModelStem and ResStage)."""

    def __init__(self, kind: str, pathways: list[list[nn.Module]]):
        super().__init__()
        self.names = [[f"pathway{p}_{kind}{'' if kind == 'stem' else i}" for i in range(len(mods))]
                      for p, mods in enumerate(pathways)]
        for names, modules in zip(self.names, pathways):
            for name, module in zip(names, modules):
                self.add_module(name, module)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        outputs = []
        for names, x in zip(self.names, xs):
            for name in names:
                x = getattr(self, name)(x)
            outputs.append(x)
        return outputs


class ResNetStem(nn.Module):
    """conv (kt, 7, 7) of stride (1, 2, 2) -> BN -> ReLU -> (1, 3, 3) max-pool of stride
    (1, 2, 2) (PySlowFast's ResNetBasicStem)."""

    def __init__(self, cin: int, cout: int, time_kernel: int):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, (time_kernel, 7, 7), stride=(1, 2, 2),
                              padding=(time_kernel // 2, 3, 3), bias=False)
        self.bn = bn(cout)
        self.pool_layer = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool_layer(torch.relu(self.bn(self.conv(x))))


def init_pyslowfast(model: nn.Module, fc_std: float, zero_init_final_bn: bool) -> None:
    """PySlowFast's init_weights (slowfast/utils/weight_init_helper.py): kaiming-normal
    (fan_out) convs, BN (1, 0) or (0, 0) for each residual transform's last BN when
    `zero_init_final_bn` (Goyal et al., 2017), linear N(0, fc_std) with zero bias."""
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm3d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, fc_std)
            nn.init.zeros_(module.bias)
    if zero_init_final_bn:
        for module in model.modules():
            if isinstance(module, (BottleneckTransform, X3DTransform)):
                nn.init.zeros_(module.c_bn.weight)
