"""Learning-rate schedules, stepped once per iteration so short runs still anneal smoothly.

The factor multiplies each parameter group's initial lr (see `recipe.parameter_groups`).
Warm-up multiplies the schedule by a linear ramp over the first `warmup_epochs`, reaching the
full factor at the ramp's last iteration; the schedule itself counts from iteration 0, so
step epochs and the cosine's length do not move when warm-up is switched on.
"""

from __future__ import annotations

import bisect
import math

import torch

from ..plan.schema import TrainSpec


def lr_factor(train: TrainSpec, step: int, iters_per_epoch: int) -> float:
    """Multiplier of the base lr for optimisation step `step` (0-based)."""
    progress = step / iters_per_epoch
    if train.schedule == "cosine":
        factor = 0.5 * (1 + math.cos(math.pi * min(progress / train.epochs, 1.0)))
    else:
        factor = train.lr_gamma ** bisect.bisect_right(train.lr_steps, progress)
    warmup_iters = train.warmup_epochs * iters_per_epoch
    if step + 1 < warmup_iters:
        factor *= (step + 1) / warmup_iters
    return factor


def build_scheduler(optimizer: torch.optim.Optimizer, train: TrainSpec,
                    iters_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(train, step, iters_per_epoch))
