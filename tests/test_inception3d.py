"""I3D on InceptionV1 (IBM's layout): names, temporal stride, ImageNet inflation."""

from __future__ import annotations

import pytest
import torch
from reference_key_files import assert_maps_onto
from torchvision.models import GoogLeNet

from actionbench.core.errors import UserError
from actionbench.models.builder import load_backbone_weights
from actionbench.models.inception3d import i3d_inception_v1
from actionbench.models.reference_keys import IBM
from actionbench.models.video3d import I3DOptions
from actionbench.plan.registry import BuildContext


def build(frames: int = 8, classes: int = 10, **options):
    torch.manual_seed(0)
    return i3d_inception_v1(BuildContext("inception_v1", classes, frames, 0.0, I3DOptions(**options)))


def test_ibm_i3d_checkpoint_maps_onto_ours():
    assert_maps_onto(build(classes=87), "ibm_i3d_inception_v1", IBM)


@pytest.mark.parametrize("temporal_stride, steps", [(False, 4), (True, 1)])
def test_fc_runs_at_every_remaining_time_step(temporal_stride, steps):
    model = build(frames=4, temporal_stride=temporal_stride).eval()
    with torch.no_grad():
        features = model.backbone(torch.randn(2, 3, 4, 32, 32))
    assert features.shape == (2 * steps, 1024)


def test_layers_are_ibms():
    backbone = build().backbone
    assert backbone.conv1.conv.kernel_size == (7, 7, 7) and backbone.conv1.conv.stride == (1, 2, 2)
    assert backbone.inception3a.branch3[1].conv.kernel_size == (3, 3, 3)
    assert backbone.inception4a.branch4[0].kernel_size == 3
    assert backbone.maxpool1.kernel_size == (1, 3, 3) and backbone.maxpool2.stride == (1, 2, 2)
    assert build(temporal_stride=True).backbone.maxpool4.stride == (2, 2, 2)


def test_partial_inflation_is_refused():
    with pytest.raises(UserError, match="inflation"):
        build(inflation="partial")


def test_imagenet_googlenet_file_is_inflated_unscaled(tmp_path):
    """torchvision's GoogLeNet state dict, as in googlenet-1378be20.pth (aux heads included)."""
    torch.manual_seed(1)
    state = GoogLeNet(aux_logits=True, init_weights=True).state_dict()
    path = tmp_path / "googlenet-test.pth"
    torch.save(state, path)
    model = build()
    load_backbone_weights(model, str(path), "inception_v1")
    conv1 = model.backbone.conv1.conv.weight
    assert torch.equal(conv1, state["conv1.conv.weight"].unsqueeze(2).expand_as(conv1))
    assert torch.equal(model.backbone.inception5b.branch4[1].bn.running_var,
                       state["inception5b.branch4.1.bn.running_var"])
