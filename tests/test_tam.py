"""TAM (IBM): the blending of neighbouring frames, where it sits, temporal pooling, weight
loading and IBM's exact parameter counts."""

from __future__ import annotations

import torch
from conftest import build_method as build
from torch import nn
from torchvision.models import resnet18

from actionbench.cost.flops import count_flops
from actionbench.models.builder import load_backbone_weights
from actionbench.models.temporal.tam import TAM


def hand_set_tam(method: str, frames: int, channels: int) -> TAM:
    tam = TAM(frames, channels, blending_method=method)
    for conv, scale in zip(tam.blend, (1.0, 10.0, 100.0)):  # prev, curr, next
        nn.init.constant_(conv.weight, scale)
    return tam


def test_tam_blends_previous_current_and_next_frames_with_zero_borders():
    frames, channels = 4, 3
    x = torch.randn(2 * frames, channels, 2, 2)
    clips = x.view(2, frames, channels, 2, 2)
    prev = torch.cat([torch.zeros_like(clips[:, :1]), clips[:, :-1]], dim=1)
    nxt = torch.cat([clips[:, 1:], torch.zeros_like(clips[:, :1])], dim=1)
    expected = torch.relu(1 * prev + 10 * clips + 100 * nxt).view_as(x)
    assert torch.allclose(hand_set_tam("sum", frames, channels)(x), expected)
    expected_max = torch.relu(torch.stack([prev, 10 * clips, 100 * nxt]).amax(0)).view_as(x)
    assert torch.allclose(hand_set_tam("max", frames, channels)(x), expected_max)


def test_tam_offsets_and_depthwise_switch():
    assert TAM(4, 8, blending_frames=5).offsets == [-2, -1, 0, 1, 2]
    assert TAM(4, 8, blending_frames=2).offsets == [-1, 0]
    assert TAM(4, 8).blend[0].weight.shape == (8, 1, 1, 1)
    assert TAM(4, 8, dw_conv=False).blend[0].weight.shape == (8, 8, 1, 1)


def test_tam_sits_before_conv1_on_the_block_input_channels():
    model = build("tam", backbone="resnet50")
    block = model.backbone.layer2[0]
    assert isinstance(block.conv1.temporal, TAM)
    assert block.conv1.temporal.blend[0].in_channels == 256  # inplanes, not the width 128


def test_tam_temporal_pool_halves_the_frames_after_layer1_to_layer3():
    model = build("tam", frames=8, temporal_pool=True)
    tams = [m for m in model.modules() if isinstance(m, TAM)]
    assert [t.frames for t in tams] == [8, 8, 4, 4, 2, 2, 1, 1]
    odd = build("tam", frames=5, temporal_pool=True)
    assert [t.frames for t in odd.modules() if isinstance(t, TAM)] == [5, 5, 3, 3, 2, 2, 1, 1]
    assert odd(torch.randn(2, 3, 5, 32, 32)).shape == (2, 10)


def test_imagenet_weights_load_into_wrapped_layers(tmp_path):
    """The builder's loader finds conv1 behind TAM (and behind the pooled stages) and conv2
    inside STM; GST's sliced conv2 is left to the module's own hook (next test)."""
    torch.manual_seed(3)
    imagenet = resnet18().state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(imagenet, path)
    tam = build("tam", temporal_pool=True)
    load_backbone_weights(tam, str(path), "resnet18")
    assert torch.equal(tam.backbone.layer3.layer[1].conv1.layer.weight,
                       imagenet["layer3.1.conv1.weight"])
    stm = build("stm")
    load_backbone_weights(stm, str(path), "resnet18")
    assert torch.equal(stm.backbone.layer2[0].conv2.layer.weight,
                       imagenet["layer2.0.conv2.weight"])


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_tam_parameters_match_ibm_exactly():
    tsn50, tam50 = build("tsn", classes=87, backbone="resnet50"), build("tam", classes=87,
                                                                        backbone="resnet50")
    assert params(tam50) - params(tsn50) == 39_360
    assert params(tam50) == 23_725_655  # IBM benchmark_mini.md, 87 classes
    tam18 = build("tam", frames=8, classes=87)
    assert params(tam18) == 11_225_559
    assert abs(count_flops(tam18, torch.randn(1, 3, 8, 224, 224))["gflops"] - 14.53) < 0.01
