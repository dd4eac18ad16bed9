"""The models' input contract: normalised float clips (N, C, T, H, W), made on the device
from the uint8 batches that loaders ship.

Loaders ship uint8 (4x fewer bytes through pinned memory and the PCIe bus than float32);
conversion and ImageNet normalisation happen here, on the device, in one fused step.
"""

from __future__ import annotations

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_model_input(videos: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """uint8 (..., T, C, H, W) -> normalised float (N, C, T, H, W), leading axes flattened."""
    videos = videos.to(device, non_blocking=True)
    t, c, h, w = videos.shape[-4:]
    videos = videos.reshape(-1, t, c, h, w).float().div_(255)
    mean = torch.tensor(IMAGENET_MEAN, device=videos.device).view(1, 1, c, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=videos.device).view(1, 1, c, 1, 1)
    return videos.sub_(mean).div_(std).transpose(1, 2).contiguous()
