"""The input every cost measurement uses: one test view, at the frames and crop size the
experiment is scored on (`Plan.input_frames`, `Plan.input_size`)."""

from __future__ import annotations

import torch

from ..plan.plan import Plan


def example_clip(frames: int, size: int, batch: int = 1) -> torch.Tensor:
    """(batch, 3, frames, size, size) with fixed random content, so counts and timings are
    repeatable."""
    return torch.randn(batch, 3, frames, size, size, generator=torch.Generator().manual_seed(0))


def plan_clip(plan: Plan, batch: int = 1) -> torch.Tensor:
    """One test view of `plan`'s network input."""
    return example_clip(plan.input_frames, plan.input_size, batch)
