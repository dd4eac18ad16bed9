"""VideoMAE's fine-tuning ViT (actionbench/models/transformers/videomae.py): shapes, the fixed
position table, cost by hand, parameter count, frame rules, checkpoint names.

Logit equality with the reference's own code is checked outside the project (docs/methods/
videomae.md); these tests use a narrow network (width 32, 2 blocks) of the same structure.
"""

from __future__ import annotations

import math

import pytest
import torch

from actionbench.core.errors import UserError
from actionbench.cost.flops import count_flops
from actionbench.models.transformers.videomae import (
    CHECKPOINTS,
    VideoMAE,
    VideoMAEOptions,
    sinusoid_table,
)
from actionbench.models.weights import match_keys
from actionbench.plan.registry import METHODS, BuildContext

WIDTH, DEPTH, HEADS, CLASSES = 32, 2, 2, 5

MMACTION2 = next(c for c in CHECKPOINTS if c.name == "open-mmlab/mmaction2")


def narrow(frames=4, size=32, seed=0):
    torch.manual_seed(seed)
    return VideoMAE(CLASSES, frames, size, width=WIDTH, depth=DEPTH, heads=HEADS).eval()


@pytest.mark.parametrize("frames, size, batch", [(2, 16, 1), (4, 32, 3), (6, 48, 2)])
def test_output_shape(frames, size, batch):
    with torch.no_grad():
        assert narrow(frames, size)(torch.randn(batch, 3, frames, size, size)).shape == (batch, CLASSES)


def test_position_table_is_the_sinusoid_of_the_token_index():
    table = sinusoid_table(10, 6)[0]
    assert table.shape == (10, 6) and table.dtype == torch.float32
    for position, channel in ((0, 0), (0, 1), (3, 0), (7, 3), (9, 4)):
        angle = position / 10000 ** (2 * (channel // 2) / 6)
        expected = math.sin(angle) if channel % 2 == 0 else math.cos(angle)
        assert table[position, channel].item() == pytest.approx(expected, abs=1e-7)


def test_position_table_is_fixed_and_outside_the_state_dict():
    model = narrow()
    assert "pos_embed" not in model.state_dict()
    assert torch.equal(model.pos_embed, sinusoid_table(2 * 4, WIDTH))
    assert not any(p is model.pos_embed for p in model.parameters())


def test_frame_order_matters_and_every_parameter_gets_a_gradient():
    model, clip = narrow().train(), torch.randn(2, 3, 4, 32, 32)
    out = model(clip)
    (out * torch.randn_like(out)).sum().backward()
    assert [name for name, p in model.named_parameters() if not p.grad.any()] == []
    model.eval()
    with torch.no_grad():
        forward, backward = model(clip), model(clip.flip(dims=[2]))
    assert (forward - backward).abs().max() > 1e-2 * forward.abs().max()


def test_the_classifier_starts_scaled_down():
    """run_class_finetuning.py's --init_scale 0.001 on a truncated-normal (std 0.02) head."""
    assert narrow().head.weight.std().item() == pytest.approx(2e-5, rel=0.2)


def test_fvcore_count_equals_the_hand_count():
    """Tokens are 2x16x16 tubelets; each block: q, k, v and proj (4 width² per token), the two
    products over all token pairs, the MLP (8 width² per token); the tubelet conv and the head."""
    frames, size = 4, 48
    tokens = frames // 2 * (size // 16) ** 2
    block = tokens * 12 * WIDTH * WIDTH + 2 * tokens * tokens * WIDTH
    hand = tokens * WIDTH * 3 * 2 * 16 * 16 + DEPTH * block + WIDTH * CLASSES
    result = count_flops(narrow(frames, size), torch.randn(1, 3, frames, size, size))
    assert result["gflops"] * 1e9 == pytest.approx(hand, rel=1e-12)


def test_parameters_at_the_published_setting():
    """86,534,800 at 16x224 for 400 classes, as the reference's own model counts
    (docs/methods/videomae.md); the paper prints 87 M."""
    with torch.device("meta"):
        model = VideoMAE(400, 16, 224)
    assert sum(p.numel() for p in model.parameters()) == 86_534_800


def build(frames, size=32):
    ctx = BuildContext(backbone="vit_b_16", num_classes=CLASSES, frames=frames, dropout=0.0,
                       options=VideoMAEOptions(), input_size=size)
    return METHODS["videomae"].build(ctx)


@pytest.mark.parametrize("frames, size, message", [(3, 32, "data.frames must be even"),
                                                   (4, 8, "data.input_size of at least 16")])
def test_inputs_the_tubelets_cannot_cut_are_refused(frames, size, message):
    with pytest.raises(UserError, match=message):
        build(frames, size)


MMACTION2_BLOCK = {"mlp.fc1": "mlp.layers.0.0", "mlp.fc2": "mlp.layers.1"}
"""Where mmaction/models/backbones/vit_mae.py names a block's tensors differently."""


def mmaction2_name(ours: str) -> str:
    if ours.startswith("head."):
        return "cls_head.fc_cls." + ours.removeprefix("head.")
    if ours.startswith("patch_embed.proj."):
        return "backbone.patch_embed.projection." + ours.removeprefix("patch_embed.proj.")
    for mine, theirs in MMACTION2_BLOCK.items():
        ours = ours.replace(f".{mine}.", f".{theirs}.")
    return "backbone." + ours


def test_mmaction2_checkpoints_map_onto_every_parameter_and_skip_the_saved_table():
    own = narrow().state_dict()
    state = {mmaction2_name(key): value for key, value in own.items()}
    state["backbone.pos_embed"] = sinusoid_table(8, WIDTH)
    match = match_keys(own, state, MMACTION2)
    assert match.problems == 0 and match.unused == ["backbone.pos_embed"]
    assert set(match.state) == set(own)
    assert "backbone.blocks.0.mlp.layers.0.0.weight" in state
