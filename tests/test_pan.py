"""PAN_Lite: the persistence-of-appearance layer and stem, the widened conv1, the VAP head and
its exact parameter count."""

from __future__ import annotations

import pytest
import torch
from conftest import build_method as build
from torch import nn
from torchvision.models import resnet18

from actionbench.cost.flops import count_flops
from actionbench.models.temporal.pan import (
    FRAMES_PER_SEGMENT,
    PersistenceOfAppearance,
    PersistenceStem,
    VAPHead,
    widen_first_conv,
)
from actionbench.models.temporal.tsm import TemporalShift


def count(model: nn.Module, kind: type) -> int:
    return sum(1 for m in model.modules() if isinstance(m, kind))


def test_clips_with_the_wrong_frame_count_are_rejected():
    with pytest.raises(ValueError, match="4 segments x 4 frames = 16"):
        build("pan")(torch.randn(1, 3, 4, 32, 32))


def test_pa_is_near_zero_for_identical_frames_and_positive_for_different_ones():
    torch.manual_seed(0)
    pa = PersistenceOfAppearance()
    frame = torch.randn(1, 1, 3, 16, 16)
    still = pa(frame.expand(1, 4, 3, 16, 16))
    assert still.shape == (1, 3, 16, 16)
    # F_i - F_{i+1} = 0, so each map is ||1e-6 * ones(8)|| = 1e-6 * sqrt(8)
    assert torch.allclose(still, torch.full_like(still, 8 ** 0.5 * 1e-6), rtol=1e-3)
    moving = pa(torch.randn(1, 4, 3, 16, 16))
    assert (moving > 100 * still).all()


def test_pa_maps_follow_the_frame_order():
    torch.manual_seed(0)
    pa = PersistenceOfAppearance()
    frames = torch.randn(1, 4, 3, 8, 8)
    frames[:, 2] = frames[:, 1]  # frames 1 and 2 are the same: only map 1 vanishes
    maps = pa(frames)
    assert maps[0, 1].max() < 1e-5 and maps[0, 0].min() > 1e-5 and maps[0, 2].min() > 1e-5


def test_pa_init_is_pans_small_normal_or_pytorch_default():
    torch.manual_seed(0)
    assert PersistenceOfAppearance().conv.weight.std().item() == pytest.approx(0.001, rel=0.1)
    assert PersistenceOfAppearance(init_std=None).conv.weight.std() > 0.02  # kaiming-uniform


def test_stem_takes_the_first_frame_of_each_segment_as_rgb():
    stem = PersistenceStem(segments=2)
    x = torch.arange(8.0).view(1, 1, 8, 1, 1).expand(1, 3, 8, 4, 4)  # frame t has value t
    out = stem(x)
    assert out.shape == (2, 6, 4, 4)
    assert torch.equal(out[0, :3], torch.zeros(3, 4, 4)) and torch.equal(out[1, :3],
                                                                         torch.full((3, 4, 4), 4.0))


def test_widened_conv1_repeats_the_mean_rgb_kernel():
    net = resnet18()
    old = net.conv1.weight.detach().clone()
    widen_first_conv(net, 6)
    assert net.conv1.weight.shape == (64, 6, 7, 7) and net.conv1.stride == (2, 2)
    for channel in range(6):
        assert torch.allclose(net.conv1.weight[:, channel], old.mean(dim=1))


@pytest.mark.parametrize("segments, expected", [(2, 1), (4, 3), (6, 3), (8, 7), (5, 3), (16, 15)])
def test_vap_pools_one_vector_per_timescale_slot(segments, expected):
    head = VAPHead(segments, in_features=5, num_classes=3, dropout=0.0)
    assert head.pool(torch.randn(2, segments, 5)).shape == (2, expected, 5)
    assert head.tes[0].in_features == expected


def test_vap_pooling_equals_the_reference_dilated_max_pool():
    segments, dim = 8, 6
    head = VAPHead(segments, dim, 3, 0.0)
    frames = torch.randn(2, segments, dim)
    volume = frames.transpose(1, 2)[..., None, None]  # (N, D, T, 1, 1) as the reference pools it
    reference = torch.cat([nn.MaxPool3d((segments // tau, 1, 1), 1, 0, (tau, 1, 1))(volume)
                           for tau in (1, 2, 4)], dim=2)
    assert torch.equal(head.pool(frames), reference.flatten(2).transpose(1, 2))


def test_vap_rejects_a_single_segment():
    with pytest.raises(ValueError, match="at least 2 segments"):
        VAPHead(1, 8, 3, 0.0)


def test_pan_shift_option_and_vap_head():
    model = build("pan")
    assert count(model, TemporalShift) == 8 and isinstance(model.head, VAPHead)
    assert model.backbone.conv1.in_channels == 6
    assert count(build("pan", shift=False), TemporalShift) == 0


def paper_cost(method: str) -> dict:
    model = build(method, frames=8, classes=174, backbone="resnet50")
    return count_flops(model, torch.randn(1, 3, 8 * FRAMES_PER_SEGMENT, 224, 224))


def test_pan_cost_matches_the_published_figure():
    # 35.7 G: zhang-can/PAN-PyTorch README, docs/methods/pan.md#our-measured-cost
    cost = paper_cost("pan")
    assert cost["gflops"] == pytest.approx(35.7, rel=0.03)  # derived 35.53
    assert cost["params_m"] == pytest.approx(23.88, rel=0.03)
    # R50 without fc + 3 extra conv1 channels + PA conv (no bias) + TES + fc(174)
    assert round(cost["params_m"] * 1e6) == 23_508_032 + 9_408 + 1_176 + 392 + 356_526
