"""S3D-ResNet (IBM): separable blocks, IBM's names, temporal stride, ImageNet inflation."""

from __future__ import annotations

import pytest
import torch
from reference_key_files import assert_maps_onto
from torchvision.models import resnet18

from actionbench.models.builder import load_backbone_weights
from actionbench.models.reference_keys import IBM
from actionbench.models.s3d_resnet import S3DResNetOptions, s3d_resnet
from actionbench.plan.registry import BuildContext


def build(backbone: str = "resnet18", frames: int = 8, classes: int = 10, **options):
    torch.manual_seed(0)
    return s3d_resnet(BuildContext(backbone, classes, frames, 0.0, S3DResNetOptions(**options)))


def test_ibm_checkpoint_maps_onto_ours():
    assert_maps_onto(build("resnet50", classes=87), "ibm_s3d_resnet50", IBM)


def test_blocks_separate_space_and_time():
    block = build().backbone.layer2[0]
    assert block.conv1.kernel_size == (1, 3, 3) and block.conv1.stride == (1, 2, 2)
    assert block.conv1_t.kernel_size == (3, 1, 1) and block.conv1_t.stride == (1, 1, 1)
    strided = build("resnet50", temporal_stride=True).backbone.layer3[0]
    assert strided.conv2_t.stride == (2, 1, 1) and strided.downsample[0].stride == (2, 2, 2)


@pytest.mark.parametrize("temporal_stride, steps", [(False, 4), (True, 1)])
def test_fc_runs_at_every_remaining_time_step(temporal_stride, steps):
    model = build(frames=4, temporal_stride=temporal_stride).eval()
    with torch.no_grad():
        assert model.backbone(torch.randn(2, 3, 4, 32, 32)).shape == (2 * steps, 512)


def test_imagenet_resnet_file_inflates_onto_the_spatial_convs(tmp_path):
    torch.manual_seed(1)
    state = resnet18().state_dict()
    path = tmp_path / "resnet18-test.pth"
    torch.save(state, path)
    model = build()
    load_backbone_weights(model, str(path), "resnet18")
    backbone = model.backbone
    assert torch.equal(backbone.layer1[0].conv1.weight[:, :, 0], state["layer1.0.conv1.weight"])
    stem = backbone.conv1.weight
    assert torch.equal(stem, state["conv1.weight"].unsqueeze(2).expand_as(stem))
