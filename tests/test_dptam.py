"""DPTAM (docs/methods/dptam.md): the module's maths, its placement, and the method's cost."""

from __future__ import annotations

import functools

import pytest
import torch
from conftest import build_method
from torch import nn

from actionbench.cost.flops import count_flops
from actionbench.models.insert import Before
from actionbench.models.temporal.dptam import DPTAM

build = functools.partial(build_method, "dptam")


def test_dptam_sits_before_conv2_of_every_block_without_unused_layers():
    model = build()
    placed = [name for name, m in model.named_modules() if isinstance(m, DPTAM)]
    assert len(placed) == 8 and all(name.endswith("conv2.temporal") for name in placed)
    assert all(isinstance(block.conv2, Before) and block.conv2.temporal.context.in_channels
               == block.bn1.num_features for stage in ("layer1", "layer2", "layer3", "layer4")
               for block in getattr(model.backbone, stage))
    # only the shared W, the two attention convs and the BN: no conv_mask, no softmax
    kinds = {type(m) for d in model.modules() if isinstance(d, DPTAM) for m in d.modules()}
    assert nn.Conv2d not in kinds and nn.Softmax not in kinds


def test_dptam_matches_the_reference_formula():
    # li-stu-998/MIE-Net ops/temporal_module_dptam.py, written out in docs/methods/dptam.md#what-it-is
    torch.manual_seed(0)
    batch, frames, channels = 2, 3, 8
    module = DPTAM(channels, frames).eval()
    nn.init.normal_(module.attention[1].running_mean)  # make the BN do something
    x = torch.randn(batch * frames, channels, 5, 5)

    clips = x.view(batch, frames, channels, 5, 5)
    z = clips.mean(dim=(3, 4))  # (N, T, C)
    w = module.context.weight[:, :, 0]
    u = z + (z @ w.T) * (z.mean(dim=1, keepdim=True) @ w.T)
    down, bn, _, up, _ = module.attention
    padded = nn.functional.pad(u.transpose(1, 2), (1, 1))  # zero-pad T by 1 on each side
    hidden = sum(padded[:, :, k:k + frames].transpose(1, 2) @ down.weight[:, :, k].T
                 for k in range(3))
    hidden = (hidden - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    attention = torch.sigmoid(hidden.relu() @ up.weight[:, :, 0].T)  # (N, T, C)
    expected = (clips * attention[..., None, None]).view_as(x)
    with torch.no_grad():
        assert torch.allclose(module(x), expected, atol=1e-6)


def test_dptam_cost_at_the_paper_setting():
    model = build(frames=8, classes=174, backbone="resnet50")
    cost = count_flops(model, torch.randn(1, 3, 8, 224, 224))
    assert cost["gflops"] == pytest.approx(32.7, rel=0.03)  # derived 32.72
    # R50 without fc + 16 x (2 C'^2 + C'/2) for DPTAM + fc(174)
    assert round(cost["params_m"] * 1e6) == 23_508_032 + 2_516_832 + 356_526
