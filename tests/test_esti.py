"""ESTI as the authors' code builds it (Yu0tang/ESTI@ec9f6a0732e1): motion stem on 5 frames
per segment, MSTE + MTA + learnable shift before conv2 of every block, biased convolutions."""

from __future__ import annotations

import functools
import re

import pytest
import torch
from conftest import build_method
from pydantic import ValidationError
from torch import nn
from torchvision.models import resnet18

from actionbench.cost.flops import count_flops
from actionbench.models.builder import load_backbone_weights
from actionbench.models.insert import STAGES
from actionbench.models.temporal.esti import (
    AUTHORS,
    ESTIBlock,
    ESTIOptions,
    LearnableShift,
    MultiScaleExcitation,
    MultiScaleTemporalAttention,
)
from actionbench.models.temporal.tsm import temporal_shift
from actionbench.models.weights import load_weights
from actionbench.plan.registry import METHODS, BuildContext

build = functools.partial(build_method, "esti")


def clips(frames: int = 4, size: int = 32, batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 3, 5 * frames, size, size, generator=torch.Generator().manual_seed(seed))


def test_registered_as_the_authors_network_with_five_frames_per_segment():
    method = METHODS["esti"]
    assert not method.reconstructed and method.frames_per_segment == 5
    assert method.published == ()  # neither the README nor the code states a cost
    assert AUTHORS in method.checkpoints


def test_every_block_holds_mste_mta_and_shift_before_conv2_with_its_stage_scales():
    model = build()
    for stage, paths in zip(STAGES, (4, 3, 2, 1)):
        for block in getattr(model.backbone, stage):
            module = block.conv2.temporal
            assert isinstance(module, ESTIBlock)
            assert [path.pool for path in module.mste.paths] == [2 ** i for i in range(paths)]
            assert module.t_attention.fc1[0].out_channels == block.bn1.num_features // 4
            assert module.shift.weight.shape == (block.bn1.num_features, 1, 3)
    convs = [m for m in model.backbone.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 2 * 8 + 3 and all(conv.bias is not None for conv in convs)


def test_the_resnet_stem_sees_the_centre_frame_and_the_motion_stem_all_five():
    model = build()
    seen = {}
    model.backbone.conv1.register_forward_hook(lambda m, args, out: seen.update(conv1=args[0]))
    model.backbone.motion.register_forward_hook(lambda m, args, out: seen.update(motion=(args[0], out)))
    x = clips()
    model(x)
    segments = x.view(2, 3, 4, 5, 32, 32).transpose(1, 2).reshape(8, 3, 5, 32, 32)
    torch.testing.assert_close(seen["conv1"], segments[:, :, 2])
    motion_in, motion_out = seen["motion"]
    torch.testing.assert_close(motion_in, segments)
    assert motion_out.shape == (8, 64, 8, 8)  # the max-pool's resolution: 5 frames became one


def test_appearance_and_motion_mix_half_and_half_at_8_segments_else_three_to_one():
    assert build(8).backbone.appearance_weight == 0.5
    assert build(4).backbone.appearance_weight == 0.75
    assert build(4, appearance_weight=0.6).backbone.appearance_weight == 0.6


def test_shift_starts_as_tsm_shift_or_identity_and_is_a_temporal_convolution():
    torch.manual_seed(0)
    x = torch.randn(2 * 4, 16, 3, 3)
    with torch.no_grad():
        torch.testing.assert_close(LearnableShift(16, 4, 8, "shift")(x), temporal_shift(x, 4, 8))
        torch.testing.assert_close(LearnableShift(16, 4, 8, "fixed")(x), x)
        shift = LearnableShift(16, 4, 8, "norm")
        out = shift(x).view(2, 4, 16, 3, 3)
    frames = x.view(2, 4, 16, 3, 3)
    padded = torch.cat([torch.zeros_like(frames[:, :1]), frames, torch.zeros_like(frames[:, :1])], 1)
    w = shift.weight.detach()[:, 0]
    expected = sum(w[:, k, None, None] * padded[:, k:k + 4] for k in range(3))
    torch.testing.assert_close(out, expected)


def test_mste_averages_nearest_upsampled_scales_of_the_channel_mean():
    """With identity 3x3x3 kernels and fresh eval BN (x / sqrt(1 + eps)), two scales give
    x * (sigmoid((m + up(pool2(m))) / 2 / sqrt(1 + eps)) - 1/2), m the channel mean."""
    mste = MultiScaleExcitation(frames=2, paths=2).eval()
    with torch.no_grad():
        for path in mste.paths:
            path.conv.weight.zero_()
            path.conv.weight[0, 0, 1, 1, 1] = 1
    x = torch.arange(2 * 2 * 3 * 4 * 4, dtype=torch.float32).view(4, 3, 4, 4) / 100
    mean = x.mean(dim=1, keepdim=True)
    coarse = torch.nn.functional.avg_pool2d(mean, 2).repeat_interleave(2, 2).repeat_interleave(2, 3)
    bn_scale = (1 + mste.paths[0].bn.eps) ** -0.5
    expected = x * (torch.sigmoid((mean + coarse) / 2 * bn_scale) - 0.5)
    with torch.no_grad():
        torch.testing.assert_close(mste(x), expected)


def test_mste_refuses_maps_smaller_than_its_coarsest_pooling():
    with pytest.raises(ValueError, match="pools by 8"):
        MultiScaleExcitation(frames=2, paths=4)(torch.randn(4, 3, 4, 4))


def receptive_frames(module: nn.Module, frames: int, channels: int, size: int) -> list[int]:
    """Frames of the output that change when only the first input frame changes."""
    torch.manual_seed(0)
    x = torch.randn(frames, channels, size, size)
    changed = x.clone()
    changed[0] += torch.randn(channels, size, size)
    with torch.no_grad():
        delta = (module(changed) - module(x)).abs().amax(dim=(1, 2, 3))
    return [t for t in range(frames) if delta[t] > 1e-6]


def test_mste_reaches_one_frame_each_way_and_mta_three():
    """MSTE: one 3x3x3 conv per scale; MTA: three kernel-3 temporal convs in a row."""
    assert receptive_frames(MultiScaleExcitation(8, 2).eval(), 8, 16, 4) == [0, 1]
    assert receptive_frames(MultiScaleTemporalAttention(16, 8, 4).eval(), 8, 16, 4) == [0, 1, 2, 3]


def test_mta_weights_every_pixel_of_a_frame_channel_alike():
    torch.manual_seed(0)
    mta = MultiScaleTemporalAttention(16, 4, 4).eval()
    x = torch.rand(8, 16, 3, 3) + 0.5
    with torch.no_grad():
        ratio = mta(x) / x
    torch.testing.assert_close(ratio, ratio[..., :1, :1].expand_as(ratio))
    assert ratio.abs().max() < 0.5  # sigmoid - 1/2


def test_options_reach_the_modules_and_are_validated():
    module = build(paths=(1, 2, 1, 1), attention_div=8, shift_div=4).backbone.layer2[0].conv2.temporal
    assert len(module.mste.paths) == 2 and module.t_attention.fc1[0].out_channels == 128 // 8
    assert module.shift.weight[: 128 // 4, 0, 2].eq(1).all()
    for bad in ({"paths": (4, 3, 2)}, {"paths": (5, 3, 2, 1)}, {"appearance_weight": 1.0},
                {"appearance_weight": 0}, {"shift_init": "random"}, {"shift_div": 1}):
        with pytest.raises(ValidationError):
            ESTIOptions(**bad)


AUTHORS_KEYS = {
    "base_model.conv1.bias": "backbone.conv1.bias",
    "base_model.conv3d_22.1.running_var": "backbone.motion.conv3d_22.1.running_var",
    "base_model.layer1_bak.0.conv2.weight": "backbone.layer1.0.conv2.weight",
    "base_model.layer2_bak.1.mste.p3_bn.running_mean":
        "backbone.layer2.1.conv2.temporal.mste.paths.2.bn.running_mean",
    "base_model.layer4_bak.2.t_attention.fc1.1.weight":
        "backbone.layer4.2.conv2.temporal.t_attention.fc1.1.weight",
    "base_model.layer3_bak.0.t_attention.fc3.0.weight":
        "backbone.layer3.0.conv2.temporal.t_attention.fc3.weight",
    "base_model.layer1_bak.1.shift.conv.weight": "backbone.layer1.1.conv2.temporal.shift.weight",
    "base_model.layer3_bak.0.downsample.0.bias": "backbone.layer3.0.downsample.0.bias",
    "new_fc.weight": "head.fc.weight",
}
"""Keys as the authors' `TSN(ESTI_Net)` names them (its state_dict, read off their code)."""


@pytest.mark.parametrize("theirs, ours", AUTHORS_KEYS.items())
def test_the_authors_key_names_map_to_ours(theirs, ours):
    assert AUTHORS.rename(theirs) == ours


def authors_name(key: str) -> str:
    """Our key as the authors' code names it: the inverse of `AUTHORS`, written out apart."""
    key = key.replace("head.fc.", "new_fc.").replace("backbone.motion.", "base_model.")
    key = re.sub(r"mste\.paths\.(\d)\.", lambda m: f"mste.p{int(m.group(1)) + 1}_", key)
    key = key.replace("t_attention.fc3.weight", "t_attention.fc3.0.weight")
    key = key.replace("shift.weight", "shift.conv.weight").replace("conv2.temporal.", "")
    key = key.replace("conv2.layer.", "conv2.")
    key = re.sub(r"^backbone\.layer(\d)\.", r"base_model.layer\1_bak.", key)
    return key.replace("backbone.", "base_model.")


def test_a_state_dict_named_the_authors_way_loads_and_gives_the_same_logits(tmp_path):
    source = build(4)
    with torch.no_grad():  # non-default statistics and shifts, so every tensor matters
        for m in source.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
            if isinstance(m, LearnableShift):
                m.weight.add_(0.1)
    path = tmp_path / "esti_authors.pth.tar"
    state = {f"module.{authors_name(k)}": v for k, v in source.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 50}, path)
    torch.manual_seed(1)  # another initialisation: every tensor must come from the file
    target = METHODS["esti"].build(BuildContext("resnet18", 10, 4, 0.0, ESTIOptions())).eval()
    match = load_weights(target, METHODS["esti"], path)
    assert match.convention is AUTHORS and match.problems == 0
    x = clips()
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x))


def test_cost_equals_the_authors_network_as_fvcore_counts_it():
    # Yu0tang/ESTI@ec9f6a0732e1 TSN(ESTI_Net) counted with count_flops, docs/methods/esti.md
    model = build(8, classes=174, backbone="resnet50")
    cost = count_flops(model, torch.randn(1, 3, 40, 224, 224))
    assert cost["params_m"] * 1e6 == 26_040_341
    assert cost["gflops"] == pytest.approx(33.1007, abs=1e-4)


def test_imagenet_weights_fill_the_resnet_and_leave_the_biases_and_esti_modules(tmp_path):
    """As the authors' non-strict load of torchvision's file: the conv biases keep their
    initialisation, since that file has none."""
    torch.manual_seed(3)
    imagenet = resnet18().state_dict()
    torch.save(imagenet, tmp_path / "resnet18.pth")
    model = build()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    load_backbone_weights(model, str(tmp_path / "resnet18.pth"), "resnet18")
    after = model.state_dict()
    torch.testing.assert_close(after["backbone.conv1.weight"], imagenet["conv1.weight"])
    torch.testing.assert_close(after["backbone.layer2.1.conv2.layer.weight"],
                               imagenet["layer2.1.conv2.weight"])
    for key in ("backbone.conv1.bias", "backbone.layer2.1.conv2.layer.bias",
                "backbone.motion.conv3d_21.0.weight",
                "backbone.layer2.1.conv2.temporal.t_attention.fc1.0.weight"):
        torch.testing.assert_close(after[key], before[key])
