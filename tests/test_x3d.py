"""X3D: PySlowFast's widths and depths, and the three zoos' names."""

from __future__ import annotations

import pytest
import torch
from reference_key_files import assert_maps_onto, reference_state

from actionbench.models.slowfast import PYSLOWFAST_KEYS
from actionbench.models.slowfast_blocks import SqueezeExcitation, round_width
from actionbench.models.weights import match_keys
from actionbench.models.x3d import MMACTION2_X3D_KEYS, PYTORCHVIDEO_X3D_KEYS, X3DOptions, x3d
from actionbench.plan.registry import BuildContext


def build(classes: int = 400, **options):
    torch.manual_seed(0)
    return x3d(BuildContext("none", classes, 4, 0.0, X3DOptions(**options)))


def test_round_width_is_pyslowfasts():
    assert [round_width(12, 2.0, divisor=8), round_width(12, 2.0), round_width(54, 0.0625, 8, 8),
            round_width(100, 0.5, divisor=8)] == [24, 24, 8, 48]


@pytest.mark.parametrize("size, blocks", [("M", (3, 5, 11, 7)), ("L", (5, 10, 25, 15))])
def test_stage_widths_depths_and_squeeze_excitation(size, blocks):
    model = build(size=size)
    stages = [getattr(model, f"s{i}") for i in range(2, 6)]
    assert tuple(len(stage.names[0]) for stage in stages) == blocks
    first = [stage.pathway0_res0.branch2 for stage in stages]
    assert [b.c.out_channels for b in first] == [24, 48, 96, 192]
    assert [b.a.out_channels for b in first] == [54, 108, 216, 432]
    squeezed = [isinstance(getattr(model.s4, f"pathway0_res{i}").branch2.se, SqueezeExcitation)
                for i in range(4)]
    assert squeezed == [True, False, True, False]
    assert model.head.conv_5.out_channels == 432 and model.head.fc.in_features == 2048


def test_pyslowfast_checkpoint_maps_onto_ours():
    assert_maps_onto(build(), "pyslowfast_x3d_m", PYSLOWFAST_KEYS)


def test_pytorchvideo_checkpoint_needs_its_shortcut_without_bn():
    assert_maps_onto(build(pytorchvideo_shortcut=True), "pytorchvideo_x3d_m", PYTORCHVIDEO_X3D_KEYS)
    match = match_keys(build().state_dict(), reference_state("pytorchvideo_x3d_m"),
                       PYTORCHVIDEO_X3D_KEYS)
    assert {key.rsplit(".", 1)[0] for key in match.missing} == {"s2.pathway0_res0.branch1_bn"}


def test_mmaction2_checkpoint_maps_by_name_its_linear_fc1_onto_our_1x1x1_lin_5():
    """mmaction2's X3DHead.fc1 is a Linear (2048, 432) where PySlowFast has a 1x1x1 conv; the
    loader has to drop the conv's singleton axes (docs/methods/x3d.md)."""
    match = match_keys(build().state_dict(), reference_state("mmaction2_x3d_m"), MMACTION2_X3D_KEYS)
    assert (match.missing, match.unexpected) == ([], [])
    assert [entry.split(" ")[0] for entry in match.wrong_shape] in ([], ["cls_head.fc1.weight"])
