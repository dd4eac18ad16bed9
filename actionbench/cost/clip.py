"""The input every cost measurement uses: one view at the experiment's frames and size."""

from __future__ import annotations

import torch

from ..models import input_frames
from ..schema import ExperimentSpec


def example_clip(spec: ExperimentSpec, batch: int = 1) -> torch.Tensor:
    """(batch, 3, T, S, S) with fixed random content, so counts and timings are repeatable."""
    size = spec.data.input_size
    return torch.randn(batch, 3, input_frames(spec), size, size,
                       generator=torch.Generator().manual_seed(0))
