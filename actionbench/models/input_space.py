"""The pixel space a reference's weights were trained in, reached from ours at the entrance.

Every loader of this suite feeds clips normalised with ImageNet's RGB mean and std
(`actionbench/core/model_input.py`). Some references trained on other inputs: TSM's BN-Inception
on Caffe's BGR pixels in 0-255 minus a per-channel mean (mit-han-lab/temporal-shift-module
@1f6a834:archs/bn_inception.py, `pretrained_settings`; main.py's `Stack(roll=True)` and
`ToTorchFormatTensor(div=False)`), PySlowFast on RGB in 0-1 with mean 0.45 and std 0.225
(facebookresearch/SlowFast@287ec00:slowfast/config/defaults.py, `_C.DATA.MEAN`, `_C.DATA.STD`).
Such a network converts its input first, as torchvision's GoogLeNet does with
`transform_input`: a fixed per-channel affine map without parameters, so released weights see
the pixels they were trained on, and a network trained here from scratch loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..core.model_input import IMAGENET_MEAN, IMAGENET_STD


class InputSpace(nn.Module):
    """ImageNet-normalised RGB (N, 3, ...) -> (pixels * scale - mean) / std, in BGR order when
    `bgr` (mean and std are given in the target's own channel order)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], scale: float = 1.0,
                 bgr: bool = False):
        super().__init__()
        order = [2, 1, 0] if bgr else [0, 1, 2]
        source_mean = torch.tensor(IMAGENET_MEAN)[order]
        source_std = torch.tensor(IMAGENET_STD)[order]
        # out = (scale * (x * s + m) - mean) / std = x * gain + offset
        gain = scale * source_std / torch.tensor(std)
        offset = (scale * source_mean - torch.tensor(mean)) / torch.tensor(std)
        self.order = order
        self.register_buffer("gain", gain, persistent=False)
        self.register_buffer("offset", offset, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        if self.order != [0, 1, 2]:
            x = x[:, self.order]
        return x * self.gain.view(shape) + self.offset.view(shape)

    def extra_repr(self) -> str:
        return f"gain={self.gain.tolist()}, offset={self.offset.tolist()}, order={self.order}"
