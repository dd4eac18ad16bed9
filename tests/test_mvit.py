"""MViT (actionbench/models/transformers/mvit.py): torchvision's network at any even frame count
and multiple-of-32 crop, torchvision's own at 16x224, and mmaction2's names for MViT-v2."""

from __future__ import annotations

import functools

import pytest
import torch
from torchvision.models.video import mvit_v1_b, mvit_v2_s

from actionbench.core.errors import UserError
from actionbench.models.transformers.mvit import CHECKPOINTS, mvit
from actionbench.models.weights import match_keys
from actionbench.plan.registry import METHODS, BuildContext

TORCHVISION = {"mvit_v1_b": (mvit_v1_b, 36_610_672), "mvit_v2_s": (mvit_v2_s, 34_537_744)}
"""Builder and num_params of torchvision's MViT_V1_B / MViT_V2_S_Weights metadata."""

MMACTION2 = next(c for c in CHECKPOINTS if c.name == "open-mmlab/mmaction2")


@pytest.mark.parametrize("variant", TORCHVISION)
def test_torchvision_network_at_16x224(variant):
    factory, params = TORCHVISION[variant]
    with torch.device("meta"):
        ours, theirs = mvit(variant, 16, 224, 400, 0.5), factory()
    ours_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(their_state)
    assert all(ours_state[key].shape == their_state[key].shape for key in ours_state)
    assert sum(p.numel() for p in ours.parameters()) == params
    assert repr(ours) == repr(theirs)


def build(variant="mvit_v2_s", frames=2, size=32, classes=5):
    ctx = BuildContext(backbone=variant, num_classes=classes, frames=frames, dropout=0.0,
                       input_size=size)
    torch.manual_seed(0)
    return METHODS["mvit"].build(ctx)


UNUSED_BY_THE_CLASS_TOKEN = {
    "mvit_v1_b": [],
    "mvit_v2_s": [f"blocks.15.attn.{name}" for name in
                  ("rel_pos_h", "rel_pos_w", "rel_pos_t", "pool_q.pool.weight")],
}
"""MViT-v2 adds the relative position terms to the patch queries' logits only and pools only the
patch queries, so in the last block, whose class token alone reaches the classifier, they get
no gradient (in torchvision's network and in the reference's)."""


@functools.cache
def small(variant):
    """4x64: two time steps and 2x2 positions in the last stage, the smallest input at which
    every other parameter gets a gradient (2x32 leaves the last stage a single position)."""
    return build(variant, frames=4, size=64)


@pytest.mark.parametrize("variant", TORCHVISION)
def test_small_input_shape_order_and_gradients(variant):
    model, clip = small(variant).train(), torch.randn(2, 3, 4, 64, 64)
    out = model(clip)
    assert out.shape == (2, 5)
    (out * torch.randn_like(out)).sum().backward()
    gradless = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert gradless == UNUSED_BY_THE_CLASS_TOKEN[variant]
    model.eval()
    with torch.no_grad():
        forward = model(clip)
        assert (forward - model(clip.flip(dims=[2]))).abs().max() > 1e-2 * forward.abs().max()


@pytest.mark.parametrize("frames, size", [(3, 32), (4, 48)])
def test_sizes_torchvision_cannot_track_are_refused(frames, size):
    with pytest.raises(UserError, match="even data.frames and a data.input_size that is a multiple"):
        build(frames=frames, size=size)


def mmaction2_name(ours: str) -> str:
    """Our key as mmaction/models/backbones/mvit.py names it (MViT-v2)."""
    if ours.startswith("head.1."):
        return ours.replace("head.1.", "cls_head.fc_cls.")
    if ours.startswith("norm."):
        return ours.replace("norm.", "backbone.norm3.")
    theirs = (ours.replace("conv_proj.", "patch_embed.projection.")
              .replace("pos_encoding.class_token", "cls_token")
              .replace(".attn.project.0.", ".attn.proj.")
              .replace(".mlp.0.", ".mlp.fc1.").replace(".mlp.3.", ".mlp.fc2.")
              .replace(".project.", ".proj."))
    for x in "qkv":
        theirs = (theirs.replace(f".attn.pool_{x}.pool.", f".attn.pool_{x}.")
                  .replace(f".attn.pool_{x}.norm_act.0.", f".attn.norm_{x}."))
    return "backbone." + theirs


def test_mmaction2_checkpoints_map_onto_every_parameter():
    """Every name maps; the one shape that differs, the class token ((1, 1, C) in mmaction2,
    (C,) in torchvision), differs in singleton dimensions only, which the loader drops."""
    with torch.device("meta"):
        own = mvit("mvit_v2_s", 16, 224, 400, 0.5).state_dict()
    state = {mmaction2_name(key): value for key, value in own.items()}
    state["backbone.cls_token"] = own["pos_encoding.class_token"].reshape(1, 1, -1)
    assert "backbone.blocks.1.attn.norm_q.weight" in state and "backbone.blocks.1.proj.bias" in state
    match = match_keys(own, state, MMACTION2)
    assert match.missing == [] and match.unexpected == [] and set(match.state) == set(own)
    assert match.wrong_shape == []
    assert match.state["pos_encoding.class_token"].shape == (96,)
