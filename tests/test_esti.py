"""ESTI, reconstructed from the description: LME + GMFE before conv2 of every block."""

from __future__ import annotations

import functools

import pytest
import torch
from conftest import build_method
from pydantic import ValidationError

from actionbench.cost.flops import count_flops
from actionbench.models.temporal.esti import (
    ESTIOptions,
    GlobalMultiScaleEnhancement,
    LocalMotionExtraction,
)
from actionbench.plan.registry import METHODS

build = functools.partial(build_method, "esti")


def test_both_modules_sit_before_conv2_of_every_block():
    model = build()
    placed = {name: module for name, module in model.named_modules()
              if name.endswith("conv2.temporal")}
    assert len(placed) == 8  # 2 + 2 + 2 + 2 BasicBlocks
    for name, module in placed.items():
        width = model.get_submodule(name.removesuffix(".conv2.temporal")).bn1.num_features
        assert isinstance(module.lme, LocalMotionExtraction)
        assert isinstance(module.gmfe, GlobalMultiScaleEnhancement)
        assert module.lme.reduce[0].out_channels == width // 16
        assert [conv.dilation[0] for conv in module.gmfe.temporal] == [1, 2, 3]


def test_registered_as_a_reconstruction():
    method = METHODS["esti"]
    assert method.reconstructed and "reconstructed from the description" in method.description


def test_options_reach_the_modules_and_are_validated():
    module = build(reduction=4, scales=(2, 5)).backbone.layer1[0].conv2.temporal
    assert module.lme.reduce[0].out_channels == 64 // 4
    assert [conv.dilation[0] for conv in module.gmfe.temporal] == [2, 5]
    with pytest.raises(ValidationError):
        ESTIOptions(scales=())
    with pytest.raises(ValidationError):
        ESTIOptions(scales=(0,))


def test_lme_last_frame_has_no_motion():
    """The last frame has no successor: its motion is zero, so its excitation is the sigmoid of
    the expand bias alone, x * (sigmoid(b) + 1/2); the other frames see real motion."""
    torch.manual_seed(0)
    lme = LocalMotionExtraction(32, frames=3, reduction=4).eval()
    x = torch.randn(2 * 3, 32, 5, 5)
    with torch.no_grad():
        out = lme(x).view(2, 3, 32, 5, 5)
        no_motion = (torch.sigmoid(lme.expand.bias) + 0.5)[:, None, None]
    clips = x.view(2, 3, 32, 5, 5)
    torch.testing.assert_close(out[:, -1], clips[:, -1] * no_motion)
    assert not torch.allclose(out[:, 0], clips[:, 0] * no_motion, atol=1e-4)


def test_gmfe_starts_order_blind_and_its_temporal_convs_then_see_order():
    """The temporal convs start at zero, so GMFE begins as a clip-level channel attention that
    commutes with reversing the frames; once they are trained (random weights here) it does not."""
    torch.manual_seed(0)
    gmfe = GlobalMultiScaleEnhancement(16, frames=8, reduction=4, scales=(1, 2, 3))
    x = torch.randn(2 * 8, 16, 3, 3)

    def reverse(t):
        return t.view(2, 8, 16, 3, 3).flip(dims=[1]).reshape(16, 16, 3, 3)

    with torch.no_grad():
        torch.testing.assert_close(gmfe(reverse(x)), reverse(gmfe(x)))
        for conv in gmfe.temporal:
            conv.weight.normal_()
        assert not torch.allclose(gmfe(reverse(x)), reverse(gmfe(x)), atol=1e-4)


def test_cost_is_a_few_percent_over_tsn():
    # resnet50, 8 frames, 224^2, 174 classes; TSN: 32.70 G, 23.86 M (sheet §1); documented
    # in esti.py: 33.01 G and 24.22 M
    cost = count_flops(build(8, classes=174, backbone="resnet50"), torch.randn(1, 3, 8, 224, 224))
    assert 32.70 < cost["gflops"] < 32.70 * 1.03
    assert cost["gflops"] == pytest.approx(33.01, abs=0.01)
    assert cost["params_m"] == pytest.approx(23.86, rel=0.03)
    assert cost["params_m"] == pytest.approx(24.22, abs=0.01)
