"""GST: the split of conv2 between a spatial and a temporal path, its weight slicing and its
exact parameter count."""

from __future__ import annotations

import pytest
import torch
from conftest import build_method as build
from torch import nn
from torchvision.models import resnet18

from actionbench.models.temporal.gst import GroupedSpatioTemporalConv
from actionbench.plan.registry import METHODS


def count(model: nn.Module, modules: type) -> int:
    return sum(isinstance(m, modules) for m in model.modules())


def test_gst_splits_channels_between_the_spatial_and_temporal_paths():
    torch.manual_seed(0)
    conv = GroupedSpatioTemporalConv(frames=3, channels=16, stride=1, alpha=4, beta=2).eval()
    assert conv.spatial.weight.shape == (12, 8, 3, 3)
    assert conv.temporal.weight.shape == (4, 8, 3, 3, 3)
    x = torch.randn(6, 16, 5, 5)
    first_half, second_half = x.clone(), x.clone()
    first_half[:, :8] += 1
    second_half[:, 8:] += 1
    out, out_first, out_second = conv(x), conv(first_half), conv(second_half)
    assert not torch.allclose(out_first[:, :12], out[:, :12])  # spatial reads the first half
    assert torch.equal(out_first[:, 12:], out[:, 12:])
    assert torch.equal(out_second[:, :12], out[:, :12])  # temporal reads the second half
    assert not torch.allclose(out_second[:, 12:], out[:, 12:])


def test_gst_temporal_path_mixes_neighbouring_frames_only():
    torch.manual_seed(0)
    conv = GroupedSpatioTemporalConv(frames=4, channels=16, stride=2, alpha=4, beta=1).eval()
    x = torch.randn(4, 16, 8, 8)
    moved = x.clone()
    moved[0] += 1  # frame 0 reaches frames 0 and 1 through the 3x3x3 kernel, not 2 and 3
    out, out_moved = conv(x), conv(moved)
    assert out.shape == (4, 16, 4, 4)
    changed = [not torch.allclose(out_moved[t, 12:], out[t, 12:]) for t in range(4)]
    assert changed == [True, True, False, False]
    assert torch.equal(out_moved[1:, :12], out[1:, :12])  # the spatial path is per frame


def test_gst_slices_plain_conv2_weights_and_keeps_basic_block_strides():
    model = build("gst")
    torch.manual_seed(3)
    imagenet = resnet18().state_dict()
    model.backbone.load_state_dict(imagenet, strict=False)
    block = model.backbone.layer2[0]
    assert torch.equal(block.conv2.spatial.weight, imagenet["layer2.0.conv2.weight"][:96, :64])
    assert torch.equal(block.conv1.weight, imagenet["layer2.0.conv1.weight"])
    assert block.conv1.stride == (2, 2) and block.conv2.spatial.stride == (1, 1)
    bottleneck = build("gst", backbone="resnet50").backbone.layer2[0].conv2
    assert bottleneck.spatial.stride == (2, 2) and bottleneck.temporal.stride == (1, 2, 2)


def test_gst_alpha_must_divide_every_width():
    with pytest.raises(ValueError):
        METHODS["gst"].options(alpha=3)


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_gst_parameters_without_fc_equal_the_code_count():
    # 20,678,720 / 29,166,656: exact count of GST-video's layers, docs/methods/gst.md#our-measured-cost
    assert params(build("gst", backbone="resnet50").backbone) == 20_678_720
    assert params(build("gst", backbone="resnet50", beta=1).backbone) == 29_166_656
