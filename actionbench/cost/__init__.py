"""Cost measurement with one protocol for every model (DESIGN.md §7)."""

from __future__ import annotations

import torch
from torch import nn

from ..schema import ExperimentSpec
from .clip import example_clip
from .flops import count_flops
from .latency import measure_speed


def measure_cost(model: nn.Module, spec: ExperimentSpec, device: torch.device,
                 speed: bool = True) -> dict:
    """FLOPs and params on the CPU (they do not depend on the device), then speed on `device`."""
    cost = count_flops(model.cpu(), example_clip(spec))
    if speed:
        cost.update(measure_speed(model.to(device), spec, device))
    return cost


__all__ = ["count_flops", "example_clip", "measure_cost", "measure_speed"]
