"""Building networks from plans: pretrained ImageNet weights mapped into wrapped layers, a
widened first conv, inflated 3D kernels and GST's sliced conv2."""

from __future__ import annotations

import pytest
import torch


def test_pretrained_state_dict_loads_and_maps_a_widened_first_conv(tmp_path):
    import torchvision
    from conftest import tiny_experiment

    from actionbench.config import resolve
    from actionbench.models import build_network

    torch.manual_seed(3)
    state = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    loaded = {}
    for method in ("tsm", "pan"):
        plan = resolve(tiny_experiment(model__method=method, model__pretrained=str(path)), "t")
        loaded[method] = build_network(plan).backbone.state_dict()
        assert torch.equal(loaded[method]["layer1.0.conv1.layer.weight"],
                           state["layer1.0.conv1.weight"])
    assert torch.equal(loaded["tsm"]["conv1.weight"], state["conv1.weight"])
    rgb_mean = state["conv1.weight"].mean(dim=1)
    assert loaded["pan"]["conv1.weight"].shape[1] == 6
    assert all(torch.allclose(loaded["pan"]["conv1.weight"][:, c], rgb_mean) for c in range(6))
    torch.save({"conv1.weight": torch.zeros(1)}, path)
    plan = resolve(tiny_experiment(model__pretrained=str(path)), "t")
    with pytest.raises(Exception, match="wrong shapes for conv1.weight"):
        build_network(plan)


def test_pretrained_2d_weights_inflate_into_i3d(tmp_path):
    import torchvision
    from conftest import tiny_experiment

    from actionbench.config import resolve
    from actionbench.models import build_network

    state = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    plan = resolve(tiny_experiment(model__method="i3d", model__backbone="resnet18",
                                    model__pretrained=str(path)), "t")
    loaded = build_network(plan).backbone.state_dict()
    kernel = loaded["layer1.0.conv1.weight"]
    assert kernel.shape[2] == 3
    assert all(torch.equal(kernel[:, :, t], state["layer1.0.conv1.weight"]) for t in range(3))


def test_pretrained_conv2_is_sliced_into_gst_spatial_path(tmp_path):
    import torchvision
    from conftest import tiny_experiment

    from actionbench.config import resolve
    from actionbench.models import build_network

    state = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    plan = resolve(tiny_experiment(model__method="gst", model__pretrained=str(path)), "t")
    loaded = build_network(plan).backbone.state_dict()
    spatial = loaded["layer1.0.conv2.spatial.weight"]
    out_channels, in_channels = spatial.shape[:2]
    assert torch.equal(spatial, state["layer1.0.conv2.weight"][:out_channels, :in_channels])
