"""Clip transforms: torchvision.transforms.v2 on uint8 video tensors (T, C, H, W).

Wrapping the clip as a `tv_tensors.Video` makes v2 draw one set of random parameters per clip,
so every frame gets the same crop and flip, as the group transforms of TSN/TSM do.
Conversion to float and normalisation happen later, on the device (see `normalize.py`).
"""

from __future__ import annotations

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


def default_scale_size(input_size: int) -> int:
    """The customary 256-for-224 resize ratio."""
    return round(input_size * 256 / 224)


def train_transform(input_size: int, flip: bool) -> v2.Transform:
    steps: list[v2.Transform] = [v2.RandomResizedCrop(input_size, scale=(0.4, 1.0), antialias=True)]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def eval_transform(input_size: int, scale_size: int, crops: int) -> v2.Transform:
    """Resize the short side, then 1, 3 or 10 crops (see `SpatialCrops`).

    The result has a leading crop axis: (crops, T, C, H, W).
    """
    return v2.Compose([v2.Resize(scale_size, antialias=True), SpatialCrops(input_size, crops)])


class SpatialCrops(v2.Transform):
    """1 centre crop; 3 crops: start/centre/end along the longer side (the papers' "3 crops");
    10 crops: the four corners and the centre, and their horizontal flips (TSN's 10-crop)."""

    def __init__(self, size: int, crops: int):
        super().__init__()
        self.size = size
        self.crops = crops

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if self.crops == 1:
            return v2.functional.center_crop(video, [self.size]).unsqueeze(0)
        if self.crops == 10:
            return torch.stack(v2.functional.ten_crop(video, [self.size]))
        return three_crops(video, self.size)


def three_crops(video: torch.Tensor, size: int) -> torch.Tensor:
    height, width = video.shape[-2:]
    if width >= height:
        lefts = [0, (width - size) // 2, width - size]
        boxes = [(((height - size) // 2), left) for left in lefts]
    else:
        tops = [0, (height - size) // 2, height - size]
        boxes = [(top, (width - size) // 2) for top in tops]
    return torch.stack([video[..., top:top + size, left:left + size] for top, left in boxes])


def apply(transform: v2.Transform, frames: torch.Tensor) -> torch.Tensor:
    return transform(tv_tensors.Video(frames)).as_subclass(torch.Tensor)
