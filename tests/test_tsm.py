"""TSM: the shift itself and the blocks it goes into."""

from __future__ import annotations

import torch
from conftest import build_method as build

from actionbench.models.temporal.tsm import TSMOptions, temporal_shift
from actionbench.plan.registry import METHODS, BuildContext


def test_temporal_shift_moves_one_eighth_each_way():
    frames, channels = 3, 16
    x = torch.arange(frames * channels, dtype=torch.float).view(frames, channels, 1, 1)
    out = temporal_shift(x, frames, shift_div=8).view(frames, channels)
    x = x.view(frames, channels)
    # channels 0-1 come from the next frame, 2-3 from the previous, the rest stay
    assert torch.equal(out[0, :2], x[1, :2]) and torch.equal(out[2, :2], torch.zeros(2))
    assert torch.equal(out[1, 2:4], x[0, 2:4]) and torch.equal(out[0, 2:4], torch.zeros(2))
    assert torch.equal(out[:, 4:], x[:, 4:])


def test_tsm_wraps_conv1_of_every_block_and_every_second_for_resnet101():
    tsm18 = build("tsm")
    assert sum(1 for m in tsm18.modules() if type(m).__name__ == "TemporalShift") == 8
    ctx = BuildContext(backbone="resnet101", num_classes=10, frames=4, options=TSMOptions())
    tsm101 = METHODS["tsm"].build(ctx)
    shifted = [name for name, m in tsm101.named_modules() if type(m).__name__ == "TemporalShift"]
    assert len(shifted) == 2 + 2 + 12 + 2  # blocks 0, 2, 4, ... of the 3-4-23-3 stages
    assert all(name.endswith("conv1.temporal") for name in shifted)
