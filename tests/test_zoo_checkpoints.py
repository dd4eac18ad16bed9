"""mmaction2's ResNet recognisers and torchvision's video weights on our TSN, TSM, I3D, R3D..."""

from __future__ import annotations

import pytest
import torch
from conftest import build_method
from reference_key_files import assert_maps_onto
from torchvision.models import video

import actionbench.models  # noqa: F401  (registers the methods)
from actionbench.models.weights import load_weights
from actionbench.models.zoo_checkpoints import MMACTION2_RESNET_KEYS
from actionbench.plan.registry import METHODS


@pytest.mark.parametrize("name, method, options", [
    ("mmaction2_tsn_r50", "tsn", {}), ("mmaction2_tsm_r50", "tsm", {}),
    ("mmaction2_i3d_r50", "i3d", {"inflation": "partial"}),
])
def test_mmaction2_checkpoints_map_onto_ours(name, method, options):
    model = build_method(method, frames=8, classes=400, backbone="resnet50", **options)
    assert_maps_onto(model, name, MMACTION2_RESNET_KEYS)


@pytest.mark.parametrize("method, factory", [("r3d", video.r3d_18), ("r2plus1d", video.r2plus1d_18)])
def test_torchvision_kinetics_file_gives_torchvisions_logits(tmp_path, method, factory):
    torch.manual_seed(0)
    reference = factory(num_classes=400).eval()
    for module in reference.modules():   # statistics as a trained file would have
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    torch.save(reference.state_dict(), tmp_path / "kinetics.pth")
    ours = build_method(method, frames=4, classes=400)
    load_weights(ours, METHODS[method], tmp_path / "kinetics.pth")
    clips = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ours(clips), reference(clips), atol=1e-5)
