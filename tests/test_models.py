from __future__ import annotations

import pytest
import torch
from conftest import build_method as build

from actionbench.models import METHODS
from actionbench.models.registry import BuildContext
from actionbench.models.temporal.tsm import TSMOptions, temporal_shift


@pytest.mark.parametrize("method", ["tsn", "tsm"])
@pytest.mark.parametrize("frames, batch", [(2, 1), (4, 3)])
def test_output_shape(method, frames, batch):
    model = build(method, frames=frames)
    clips = torch.randn(batch, 3, frames, 32, 32)
    assert model(clips).shape == (batch, 10)


@pytest.mark.parametrize("method", ["tsn", "tsm"])
def test_gradients_reach_every_parameter(method):
    model = build(method).train()
    model(torch.randn(2, 3, 4, 32, 32)).sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []


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


def test_frame_order_matters_for_tsm_and_not_for_tsn():
    clips = torch.randn(2, 3, 4, 32, 32)
    reversed_clips = clips.flip(dims=[2])
    with torch.no_grad():
        tsn, tsm = build("tsn"), build("tsm")
        assert torch.allclose(tsn(clips), tsn(reversed_clips), atol=1e-5)
        assert not torch.allclose(tsm(clips), tsm(reversed_clips), atol=1e-4)


def test_pretrained_state_dict_loads_and_maps_a_widened_first_conv(tmp_path):
    import torchvision
    from conftest import tiny_experiment

    from actionbench.config import validate
    from actionbench.models import build_network

    torch.manual_seed(3)
    state = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    loaded = {}
    for method in ("tsm", "pan"):
        spec = validate(tiny_experiment(model__method=method, model__pretrained=str(path)), "t")
        loaded[method] = build_network(spec).backbone.state_dict()
        assert torch.equal(loaded[method]["layer1.0.conv1.layer.weight"],
                           state["layer1.0.conv1.weight"])
    assert torch.equal(loaded["tsm"]["conv1.weight"], state["conv1.weight"])
    rgb_mean = state["conv1.weight"].mean(dim=1)
    assert loaded["pan"]["conv1.weight"].shape[1] == 6
    assert all(torch.allclose(loaded["pan"]["conv1.weight"][:, c], rgb_mean) for c in range(6))
    torch.save({"conv1.weight": torch.zeros(1)}, path)
    spec = validate(tiny_experiment(model__pretrained=str(path)), "t")
    with pytest.raises(Exception, match="wrong shapes for conv1.weight"):
        build_network(spec)


def test_pretrained_2d_weights_inflate_into_i3d(tmp_path):
    import torchvision
    from conftest import tiny_experiment

    from actionbench.config import validate
    from actionbench.models import build_network

    state = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    spec = validate(tiny_experiment(model__method="i3d", model__backbone="resnet18",
                                    model__pretrained=str(path)), "t")
    loaded = build_network(spec).backbone.state_dict()
    kernel = loaded["layer1.0.conv1.weight"]
    assert kernel.shape[2] == 3
    assert all(torch.equal(kernel[:, :, t], state["layer1.0.conv1.weight"]) for t in range(3))


def test_pretrained_conv2_is_sliced_into_gst_spatial_path(tmp_path):
    import torchvision
    from conftest import tiny_experiment

    from actionbench.config import validate
    from actionbench.models import build_network

    state = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    spec = validate(tiny_experiment(model__method="gst", model__pretrained=str(path)), "t")
    loaded = build_network(spec).backbone.state_dict()
    spatial = loaded["layer1.0.conv2.spatial.weight"]
    out_channels, in_channels = spatial.shape[:2]
    assert torch.equal(spatial, state["layer1.0.conv2.weight"][:out_channels, :in_channels])
