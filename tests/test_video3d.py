"""3D methods: I3D-ResNet (inflated torchvision ResNet) and torchvision's video models: what
time is left after each variant, parameter names, inflation, S3D's pooling and BN momentum
(shapes, gradients, frame order and published costs are the registry-wide contract's)."""

from __future__ import annotations

import functools

import pytest
import torch
from conftest import build_method as build
from torchvision.models import resnet18, resnet50
from torchvision.models.video import mc3_18, r2plus1d_18, r3d_18

from actionbench.config import ConfigError, resolve
from actionbench.core.errors import UserError
from actionbench.models.video3d import inflate_state_dict

VARIANTS = {"i3d": {}, "i3d-ts": {"temporal_stride": True}, "i3d-partial": {"inflation": "partial"},
            "r3d": {}, "mc3": {}, "r2plus1d": {}}
"""Small settings: resnet18, 16x16 pixels, 5-6 frames (the partial I3D needs 5)."""


@functools.cache
def small(variant: str):
    """One network per variant, shared by the tests below (each sets the mode it needs)."""
    return build(variant.split("-")[0], frames=6, **VARIANTS[variant])


def test_s3d_clipped_pool_equals_torchvision_pool_at_224():
    from torchvision.models.video import s3d

    features = torch.randn(2, 1024, 2, 7, 7)
    assert torch.equal(build("s3d", frames=16, backbone="none").avgpool(features),
                       s3d().avgpool(features))


def test_s3d_below_14_frames_fails_validation():
    mapping = {"name": "x", "model": {"method": "s3d"},
               "data": {"dataset": "kinetics400", "frames": 8}}
    with pytest.raises(ConfigError, match=r"data\.frames.*14"):
        resolve(mapping, "test")
    mapping["data"]["frames"] = 14
    assert resolve(mapping, "test").backbone == "none"


def test_partial_i3d_needs_five_frames():
    with pytest.raises(UserError, match="at least 5 frames"):
        build("i3d", frames=4, inflation="partial")


@pytest.mark.parametrize("variant, steps", [("i3d", 8), ("i3d-ts", 1), ("i3d-partial", 1)])
def test_time_left_after_layer4(variant, steps):
    """IBM's I3D keeps all 8 steps; -ts halves time in layer2, 3 and 4; the partial network
    halves it in the stem conv, the stem pool and pool2."""
    with torch.no_grad():
        # the backbone returns one feature row per remaining time step and clip
        features = small(variant).eval().backbone(torch.randn(2, 3, 8, 16, 16))
    assert features.shape == (2 * steps, 512)


@pytest.mark.parametrize("method, factory", [("r3d", r3d_18), ("mc3", mc3_18),
                                             ("r2plus1d", r2plus1d_18)])
def test_torchvision_models_keep_parameter_names_and_take_dropout(method, factory):
    with torch.device("meta"):
        model, reference = build(method, dropout=0.3), factory()
    assert set(model.state_dict()) == set(reference.state_dict())
    assert model.avgpool[1].p == 0.3 and model.fc.out_features == 10


# ---------------------------------------------------------------- inflation


def random_2d_resnet(factory):
    """A 2D ResNet with random weights and random BN statistics, in eval mode."""
    torch.manual_seed(1)
    net = factory()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
    return net.eval()


def test_inflated_stem_on_a_static_clip_is_three_times_the_2d_conv():
    """Kernels are repeated along time without 1/T: on a clip whose frames are identical, the
    3x7x7 stem gives 3x the 2D output at interior frames and 2x at the two zero-padded ends."""
    net2d = random_2d_resnet(resnet18)
    model = build("i3d")
    model.backbone.load_state_dict(inflate_state_dict(net2d.state_dict(), model.backbone))
    frame = torch.randn(2, 3, 32, 32)
    static = frame.unsqueeze(2).repeat(1, 1, 5, 1, 1)
    with torch.no_grad():
        out3d, out2d = model.backbone.conv1(static), net2d.conv1(frame)
    for t in range(1, 4):
        torch.testing.assert_close(out3d[:, :, t], 3 * out2d, rtol=1e-4, atol=1e-4)
    for t in (0, 4):
        torch.testing.assert_close(out3d[:, :, t], 2 * out2d, rtol=1e-4, atol=1e-4)


def test_inflated_network_on_one_frame_equals_the_2d_network():
    """With one frame every temporal tap but the centre one reads zero padding, and the centre
    tap is the 2D kernel itself (no 1/T scaling): the whole inflated network, BN statistics
    included, must reproduce the 2D network's pooled features exactly."""
    net2d = random_2d_resnet(resnet18)
    model = build("i3d", frames=1)
    model.backbone.load_state_dict(inflate_state_dict(net2d.state_dict(), model.backbone))
    net2d.fc = torch.nn.Identity()
    frames = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone(frames.unsqueeze(2)), net2d(frames),
                                   rtol=1e-4, atol=1e-4)


def test_partial_inflation_pattern_and_repeated_kernels():
    net2d = resnet50()
    model = build("i3d", frames=8, backbone="resnet50", inflation="partial")
    state = inflate_state_dict(net2d.state_dict(), model.backbone)
    model.backbone.load_state_dict(state)  # strict: every backbone tensor is covered
    three_tap = sorted(key for key, value in state.items()
                       if value.dim() == 5 and value.shape[2] == 3)
    assert three_tap == [f"{stage}.{i}.conv1.weight" for stage, blocks in
                         (("layer1", (0, 1, 2)), ("layer2", (0, 2)), ("layer3", (0, 2, 4)),
                          ("layer4", (1,))) for i in blocks]
    assert state["conv1.weight"].shape[2] == 5
    reference = net2d.state_dict()
    for key in three_tap + ["conv1.weight"]:
        assert all(torch.equal(tap, reference[key]) for tap in state[key].unbind(2))
    assert "fc.weight" not in state


def test_s3d_bn_momentum_option_defaults_to_torchvision():
    momenta = {module.momentum for module in build("s3d", frames=14, backbone="none").modules()
               if isinstance(module, torch.nn.BatchNorm3d)}
    assert momenta == {0.001}
    short_run = build("s3d", frames=14, backbone="none", bn_momentum=0.1)
    assert {m.momentum for m in short_run.modules() if isinstance(m, torch.nn.BatchNorm3d)} == {0.1}
