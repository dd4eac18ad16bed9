"""State dicts named and shaped as the reference projects' own model code makes them.

Each file in data/reference_keys/ lists one reference model's tensors ('key shape' per line),
written by that project's code in a scratch environment (the procedure is in
docs/methods/zoo_checkpoints.md); the first line names the project, commit and setting. Tests
turn a list into zero tensors and check that a key convention puts every one of them on a
tensor of ours of the same shape, and leaves none of ours uncovered.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from actionbench.models.weights import KeyMatch, match_keys
from actionbench.plan.registry import KeyConvention

FOLDER = Path(__file__).parent / "data" / "reference_keys"


def reference_state(name: str) -> dict[str, torch.Tensor]:
    lines = (FOLDER / f"{name}.txt").read_text().splitlines()
    state = {}
    for line in lines[1:]:
        key, shape = line.split(" ")
        state[key] = torch.zeros([int(size) for size in shape.split(",") if size])
    return state


def assert_maps_onto(model: nn.Module, name: str, convention: KeyConvention) -> KeyMatch:
    """Every reference tensor lands on one of ours with its shape, and every one of ours is
    filled (BatchNorm's counters aside, which the loader never requires)."""
    match = match_keys(model.state_dict(), reference_state(name), convention)
    assert (match.missing, match.unexpected, match.wrong_shape) == ([], [], [])
    return match
