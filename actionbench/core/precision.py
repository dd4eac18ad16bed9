"""Numerics and memory layout on the device: mixed precision (`train.amp`) and channels-last.

bf16 autocast needs no loss scaling (bf16 has float32's exponent range); fp16 does, through a
GradScaler. Both apply on CUDA only: CPU runs stay float32, bit-reproducible and comparable
with the committed smoke figures.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def amp_dtype(device: torch.device, amp: str) -> torch.dtype | None:
    """The autocast dtype of `train.amp` on `device`; None: full precision."""
    return AMP_DTYPES.get(amp) if device.type == "cuda" else None


def autocast(device: torch.device, amp: str):
    dtype = amp_dtype(device, amp)
    return torch.autocast("cuda", dtype=dtype) if dtype else contextlib.nullcontext()


def grad_scaler(device: torch.device, amp: str) -> torch.amp.GradScaler:
    """A GradScaler that scales for fp16 and is a pass-through otherwise, so the training step
    has one code path."""
    return torch.amp.GradScaler(device.type, enabled=amp_dtype(device, amp) == torch.float16)


def to_channels_last(model: nn.Module) -> nn.Module:
    """NHWC for 2D kernels and NDHWC for 3D ones, so cuDNN runs its tensor-core kernels
    without layout conversions (a network may hold both kinds)."""
    formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    for param in model.parameters():
        if param.ndim in formats:
            param.data = param.data.contiguous(memory_format=formats[param.ndim])
    return model
