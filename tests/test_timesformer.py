"""TimeSformer (actionbench/models/transformers/timesformer.py): shapes, its reference's
initialisation and what follows from it, cost by hand, parameter count, checkpoint names.

Logit equality with the reference's own code is checked outside the project (docs/methods/
timesformer.md); these tests use a narrow network (width 32, 2 blocks) of the same structure.
"""

from __future__ import annotations

import pytest
import torch

from actionbench.core.errors import UserError
from actionbench.cost.flops import count_flops
from actionbench.models.transformers.timesformer import CHECKPOINTS, TimeSformer, TimeSformerOptions
from actionbench.models.weights import match_keys
from actionbench.plan.registry import METHODS, BuildContext

WIDTH, DEPTH, HEADS, CLASSES = 32, 2, 2, 5


def narrow(frames=4, size=32, seed=0):
    torch.manual_seed(seed)
    return TimeSformer(CLASSES, frames, size, width=WIDTH, depth=DEPTH, heads=HEADS).eval()


@pytest.mark.parametrize("frames, size, batch", [(1, 16, 1), (4, 32, 3), (3, 48, 2)])
def test_output_shape(frames, size, batch):
    with torch.no_grad():
        assert narrow(frames, size)(torch.randn(batch, 3, frames, size, size)).shape == (batch, CLASSES)


def test_blind_to_frame_order_at_the_reference_init_until_time_embed_learns():
    """time_embed starts at zero, so temporal attention sees a set of frames and the class token
    averages them: reversal changes nothing; a nonzero time_embed makes order visible."""
    model, clip = narrow(), torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(clip), model(clip.flip(dims=[2])), rtol=0, atol=1e-5)
        model.time_embed.normal_()
        out = model(clip)
        assert (out - model(clip.flip(dims=[2]))).abs().max() > 1e-2 * out.abs().max()


def test_temporal_fc_starts_at_zero_after_the_first_block_and_every_parameter_then_learns():
    """The reference zeroes temporal_fc in blocks 2-12, so the first backward pass gives their
    temporal attention no gradient; after one SGD step every parameter has one."""
    model = narrow().train()
    assert model.blocks[0].temporal_fc.weight.abs().sum() > 0
    assert not model.blocks[1].temporal_fc.weight.any()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    clip, target = torch.randn(2, 3, 4, 32, 32), torch.tensor([0, 1])
    gradless = []
    for step in range(2):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(clip), target).backward()
        gradless.append({name for name, p in model.named_parameters() if not p.grad.any()})
        optimizer.step()
    assert "blocks.1.temporal_attn.qkv.weight" in gradless[0] and gradless[1] == set()


def hand_count(frames: int, positions: int, width: int, depth: int, classes: int) -> int:
    """Multiply-adds of divided space-time attention: per block, the time stage (q, k, v,
    products over the T frames at each position, proj, temporal_fc), the space stage (each frame's
    positions plus its copy of the class token) and the MLP; the patch conv and the head."""
    patches = frames * positions
    time = patches * 3 * width * width + positions * frames * frames * 2 * width \
        + 2 * patches * width * width
    per_frame = positions + 1
    space = frames * (per_frame * 4 * width * width + per_frame * per_frame * 2 * width)
    mlp = (patches + 1) * 8 * width * width
    return patches * width * 3 * 16 * 16 + depth * (time + space + mlp) + width * classes


def test_fvcore_count_equals_the_hand_count():
    result = count_flops(narrow(4, 48), torch.randn(1, 3, 4, 48, 48))
    assert result["gflops"] * 1e9 == pytest.approx(hand_count(4, 9, WIDTH, DEPTH, CLASSES), rel=1e-12)
    assert "aten::scaled_dot_product_attention" not in result["unsupported_ops"]


def test_parameters_at_the_published_setting():
    """121,566,352 at 8x224 for 400 classes, as the reference's own `TimeSformer` counts
    (docs/methods/timesformer.md); the paper prints 121.4 M."""
    with torch.device("meta"):
        model = TimeSformer(400, 8, 224)
    assert sum(p.numel() for p in model.parameters()) == 121_566_352


def reference_names(depth: int) -> dict[str, str]:
    """Our key -> mmaction2's, as mmaction/models/backbones/timesformer.py names them."""
    names = {"cls_token": "backbone.cls_token", "pos_embed": "backbone.pos_embed",
             "time_embed": "backbone.time_embed", "norm.weight": "backbone.norm.weight",
             "norm.bias": "backbone.norm.bias", "head.weight": "cls_head.fc_cls.weight",
             "head.bias": "cls_head.fc_cls.bias"}
    names.update({f"patch_embed.proj.{p}": f"backbone.patch_embed.projection.{p}"
                  for p in ("weight", "bias")})
    block = {"temporal_norm1.{p}": "attentions.0.norm.{p}",
             "temporal_attn.qkv.{p}": "attentions.0.attn.in_proj_{p}",
             "temporal_attn.proj.{p}": "attentions.0.attn.out_proj.{p}",
             "temporal_fc.{p}": "attentions.0.temporal_fc.{p}",
             "norm1.{p}": "attentions.1.norm.{p}", "attn.qkv.{p}": "attentions.1.attn.in_proj_{p}",
             "attn.proj.{p}": "attentions.1.attn.out_proj.{p}", "norm2.{p}": "ffns.0.norm.{p}",
             "mlp.fc1.{p}": "ffns.0.layers.0.0.{p}", "mlp.fc2.{p}": "ffns.0.layers.1.{p}"}
    for i in range(depth):
        for ours, theirs in block.items():
            for p in ("weight", "bias"):
                names[f"blocks.{i}." + ours.format(p=p)] = (
                    f"backbone.transformer_layers.layers.{i}." + theirs.format(p=p))
    return names


@pytest.mark.parametrize("convention", CHECKPOINTS, ids=lambda c: c.name)
def test_reference_checkpoints_map_onto_every_parameter(convention):
    model = narrow()
    own = model.state_dict()
    if convention.name == "facebookresearch/TimeSformer":
        named = {f"model.{key}": key for key in own}
    else:
        named = {theirs: ours for ours, theirs in reference_names(DEPTH).items()}
    assert set(named.values()) == set(own)
    match = match_keys(own, {theirs: own[ours] for theirs, ours in named.items()}, convention)
    assert match.problems == 0
    assert all(match.state[ours] is own[ours] for ours in named.values())


def test_input_smaller_than_a_patch_is_refused():
    ctx = BuildContext(backbone="vit_b_16", num_classes=CLASSES, frames=4, dropout=0.0,
                       options=TimeSformerOptions(), input_size=8)
    with pytest.raises(UserError, match="data.input_size of at least 16"):
        METHODS["timesformer"].build(ctx)
