"""STM: the channel-wise temporal conv that starts as a shift, the motion path, strides."""

from __future__ import annotations

import torch
from conftest import build_method as build
from torch import nn

from actionbench.models.temporal.gst import GroupedSpatioTemporalConv
from actionbench.models.temporal.stm import ChannelwiseMotion, STMConv
from actionbench.models.temporal.tam import TAM
from actionbench.plan.registry import METHODS


def count(model: nn.Module, modules: type) -> int:
    return sum(isinstance(m, modules) for m in model.modules())


def test_modules_sit_in_every_block_of_resnet50():
    assert count(build("tam", backbone="resnet50"), TAM) == 16
    assert count(build("gst", backbone="resnet50"), GroupedSpatioTemporalConv) == 16
    assert count(build("stm", backbone="resnet50"), STMConv) == 16
    assert METHODS["stm"].min_frames == 2


def test_stm_temporal_conv_starts_as_a_shift():
    frames, channels = 3, 32
    stm = STMConv(frames, nn.Conv2d(channels, channels, 3, padding=1, bias=False))
    x = torch.randn(2 * frames, channels, 2, 2)
    out = stm.channelwise_temporal(x).view(2, frames, channels, 2, 2)
    clips = x.view(2, frames, channels, 2, 2)
    zero = torch.zeros_like(clips[:, :1, :8])
    assert torch.equal(out[:, :, :8], torch.cat([zero, clips[:, :-1, :8]], dim=1))  # from t-1
    assert torch.equal(out[:, :, 8:24], clips[:, :, 8:24])
    assert torch.equal(out[:, :, 24:], torch.cat([clips[:, 1:, 24:], zero], dim=1))  # from t+1


def test_stm_motion_is_the_difference_of_next_and_current_frame():
    frames = 3
    cmm = ChannelwiseMotion(frames, channels=32, stride=1, reduction=1).eval()
    cmm.reduce, cmm.expand = nn.Identity(), nn.Identity()  # look at the motion itself
    with torch.no_grad():
        cmm.transform.weight.zero_()
        cmm.transform.weight[:, :, 1, 1] = 1  # K = identity
    x = torch.randn(2 * frames, 32, 4, 4)
    clips = x.view(2, frames, 32, 4, 4)
    expected = torch.cat([clips[:, 1:] - clips[:, :-1], torch.zeros_like(clips[:, :1])], dim=1)
    assert torch.allclose(cmm(x), expected.view_as(x))


def test_stm_motion_path_carries_the_block_stride():
    block = build("stm", backbone="resnet50").backbone.layer3[0]
    assert block.conv2.layer.stride == (2, 2) and block.conv2.motion.expand[0].stride == (2, 2)
    assert block.conv2.motion.reduce[0].out_channels == 256 // 16
