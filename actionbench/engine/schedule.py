"""Learning-rate schedules, stepped once per iteration so short runs still anneal smoothly."""

from __future__ import annotations

import bisect
import math

import torch

from ..schema import TrainSpec


def lr_factor(train: TrainSpec, progress: float) -> float:
    """Multiplier of the base lr at `progress` epochs (fractional) into training."""
    if train.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(progress / train.epochs, 1.0)))
    return train.lr_gamma ** bisect.bisect_right(train.lr_steps, progress)


def build_scheduler(optimizer: torch.optim.Optimizer, train: TrainSpec,
                    iters_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(train, step / iters_per_epoch))
