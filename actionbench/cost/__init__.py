"""Cost measurement with one protocol for every model (docs/cost.md)."""

from __future__ import annotations

import torch
from torch import nn

from ..plan.plan import Plan
from .clip import plan_clip
from .flops import count_flops
from .latency import measure_speed


def measure_cost(model: nn.Module, plan: Plan, device: torch.device,
                 speed: bool = True) -> dict:
    """FLOPs and params on the CPU (they do not depend on the device), then speed on `device`."""
    cost = count_flops(model.cpu(), plan_clip(plan))
    if speed:
        cost.update(measure_speed(model.to(device), plan, device))
    return cost


__all__ = ["count_flops", "measure_cost", "measure_speed", "plan_clip"]
