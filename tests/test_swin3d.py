"""Video Swin (actionbench/models/transformers/swin3d.py): torchvision's networks under their own
names with the run's dropout, small inputs, and mmaction2's names."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.video import swin3d_b, swin3d_s, swin3d_t

from actionbench.models.transformers.swin3d import CHECKPOINTS
from actionbench.models.weights import match_keys
from actionbench.plan.registry import METHODS, BuildContext

TORCHVISION = {"swin3d_t": (swin3d_t, 28_158_070), "swin3d_s": (swin3d_s, 49_816_678),
               "swin3d_b": (swin3d_b, 88_048_984)}
"""Builder and num_params of torchvision's Swin3D_{T,S,B}_Weights metadata (400 classes)."""

MMACTION2 = next(c for c in CHECKPOINTS if c.name == "open-mmlab/mmaction2")


def build(variant="swin3d_t", classes=5, dropout=0.0):
    ctx = BuildContext(backbone=variant, num_classes=classes, frames=4, dropout=dropout,
                       input_size=64)
    torch.manual_seed(0)
    return METHODS["swin3d"].build(ctx)


@pytest.mark.parametrize("variant", TORCHVISION)
def test_torchvision_names_and_parameters_with_the_runs_dropout(variant):
    factory, params = TORCHVISION[variant]
    with torch.device("meta"):
        ours, theirs = build(variant, classes=400, dropout=0.3), factory()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert sum(p.numel() for p in ours.parameters()) == params
    assert ours.avgpool[1].p == 0.3


def test_small_inputs_shape_order_and_gradients():
    model = build().train()
    clip = torch.randn(2, 3, 4, 64, 64)
    out = model(clip)
    assert out.shape == (2, 5)
    (out * torch.randn_like(out)).sum().backward()
    assert [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()] == []
    model.eval()
    with torch.no_grad():
        forward = model(clip)
        assert (forward - model(clip.flip(dims=[2]))).abs().max() > 1e-2 * forward.abs().max()
        assert model(torch.randn(1, 3, 1, 8, 8)).shape == (1, 5)


def mmaction2_name(ours: str) -> str:
    """Our key as mmaction/models/backbones/swin.py names it: stage i's blocks and its patch
    merging both under layers.i."""
    if ours.startswith("head."):
        return ours.replace("head.", "cls_head.fc_cls.")
    if ours.startswith("norm."):
        return ours.replace("norm.", "backbone.norm3.")
    theirs = ours.replace(".mlp.0.", ".mlp.fc1.").replace(".mlp.3.", ".mlp.fc2.")
    if theirs.startswith("features."):
        _, index, rest = theirs.split(".", 2)
        stage, merging = divmod(int(index), 2)
        theirs = f"layers.{stage}.downsample.{rest}" if merging else f"layers.{stage}.blocks.{rest}"
    return "backbone." + theirs


def test_mmaction2_checkpoints_map_onto_every_tensor():
    with torch.device("meta"):
        own = build("swin3d_s", classes=400).state_dict()
    state = {mmaction2_name(key): value for key, value in own.items()}
    assert "backbone.layers.2.blocks.17.attn.relative_position_index" in state
    assert "backbone.layers.2.downsample.reduction.weight" in state
    match = match_keys(own, state, MMACTION2)
    assert match.problems == 0 and set(match.state) == set(own)
