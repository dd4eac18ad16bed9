"""DistributedDataParallel around the network when torchrun started several processes."""

from __future__ import annotations

import logging

import torch
from torch import nn

from ..core.distributed import world_size


def wrap(model: nn.Module, device: torch.device, sync_bn: bool) -> nn.Module:
    """DistributedDataParallel around `model` when there are several processes (SyncBN first
    when asked and on CUDA); `model` itself otherwise."""
    if world_size() == 1:
        return model
    if sync_bn and device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    elif sync_bn:
        logging.getLogger(__name__).warning("train.sync_bn needs CUDA; ignored on the CPU")
    return nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)
