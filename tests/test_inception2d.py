"""Inception backbones (IBM's InceptionV1, TSM's BN-Inception) and TAM / TSM on them."""

from __future__ import annotations

import pytest
import torch
from reference_key_files import assert_maps_onto, reference_state

from actionbench.core.errors import UserError
from actionbench.cost.flops import count_flops
from actionbench.models.backbones.inception import BLOCK_NAMES, BNInception
from actionbench.models.inception2d import (
    IBM_INCEPTION_TAM_KEYS,
    INCEPTION_V1_UNITS,
    Then,
    tam_inception_v1,
    tsm_bn_inception,
)
from actionbench.models.recognizer2d import recognizer_2d
from actionbench.models.reference_keys import TSM_REPOSITORY
from actionbench.models.temporal.tam import TAM, TAMOptions, TemporalMaxPool
from actionbench.models.temporal.tsm import TemporalShift, TSMOptions
from actionbench.plan.registry import BuildContext


def context(backbone: str, options, frames: int = 4, classes: int = 10) -> BuildContext:
    return BuildContext(backbone, classes, frames, 0.0, options)


def test_bn_inception_has_tsm_files_flat_names_and_shapes():
    ours = BNInception().state_dict()
    theirs = {key.removeprefix("base_model."): value
              for key, value in reference_state("tsm_bninception_tsm").items()
              if key.startswith("base_model.")}   # TSM's TSN replaces fc by a dropout + new_fc
    assert {k: v.shape for k, v in theirs.items()} == {
        k: v.shape for k, v in ours.items() if not k.startswith("fc.") and "num_batches" not in k}


def test_tsm_checkpoint_of_tsm_bn_inception_maps_onto_ours():
    torch.manual_seed(0)
    model = tsm_bn_inception(context("bn_inception", TSMOptions(place="block"), 8, 174))
    assert_maps_onto(model, "tsm_bninception_tsm", TSM_REPOSITORY)


def test_tsm_on_bn_inception_shifts_units_two_to_twelve_and_refuses_the_residual_shift():
    model = tsm_bn_inception(context("bn_inception", TSMOptions(place="block")))
    assert sorted(model.backbone.temporal) == sorted(BLOCK_NAMES) and len(BLOCK_NAMES) == 11
    assert all(isinstance(m, TemporalShift) for m in model.backbone.temporal.values())
    with pytest.raises(UserError, match="blockres"):
        tsm_bn_inception(context("bn_inception", TSMOptions()))


def test_bn_inception_runs_on_small_clips_and_depends_on_order():
    torch.manual_seed(0)
    model = tsm_bn_inception(context("bn_inception", TSMOptions(place="block"))).train()
    clips = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        out = model(clips)
        assert out.shape == (2, 10)
        assert not torch.allclose(out, model(clips.flip(dims=[2])), atol=1e-6)


def test_ibm_tam_inception_checkpoint_maps_onto_ours():
    model = tam_inception_v1(context("inception_v1", TAMOptions(), 8, 87))
    assert_maps_onto(model, "ibm_tam_inception_v1", IBM_INCEPTION_TAM_KEYS)


@pytest.mark.parametrize("temporal_pool, frames_per_unit", [
    (False, [8] * 12), (True, [8, 8, 8, 4, 4, 2, 2, 2, 2, 2, 1, 1])])
def test_tam_follows_each_of_the_twelve_units_with_ibm_temporal_pooling(temporal_pool,
                                                                        frames_per_unit):
    model = tam_inception_v1(context("inception_v1", TAMOptions(temporal_pool=temporal_pool), 8))
    backbone = model.backbone
    tams = [getattr(backbone, unit).temporal for unit, _, _ in INCEPTION_V1_UNITS]
    assert all(isinstance(tam, TAM) for tam in tams)
    assert [tam.frames for tam in tams] == frames_per_unit
    assert [tam.blend[0].in_channels for tam in tams] == [c for _, c, _ in INCEPTION_V1_UNITS]
    pools = [getattr(backbone, name) for name in ("maxpool2", "maxpool3", "maxpool4")]
    assert all(isinstance(pool, Then) == temporal_pool for pool in pools)
    if temporal_pool:
        assert all(isinstance(pool.temporal, TemporalMaxPool) for pool in pools)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 8, 32, 32)).shape == (1, 10)


def test_tsn_on_inception_v1_drops_the_backbone_dropout_and_fc():
    from actionbench.models.backbones.inception import inception_v1

    model = recognizer_2d(context("inception_v1", None), inception_v1())
    assert isinstance(model.backbone.dropout, torch.nn.Identity)
    assert isinstance(model.backbone.fc, torch.nn.Identity)
    assert model.head.fc.in_features == 1024


@pytest.mark.slow
def test_tam_inception_v1_costs_ibms_conv_count_plus_the_classifier():
    """benchmark_mini.md counts conv multiply-adds only (TAM-b3-sum-inception-v1-tp-max-f8);
    our convention adds the fc, once per remaining frame (one, after three poolings)."""
    model = tam_inception_v1(context("inception_v1", TAMOptions(temporal_pool=True), 8, 87))
    cost = count_flops(model, torch.randn(1, 3, 8, 224, 224))
    assert round(cost["gflops"] * 1e9) == 6_570_863_936 + 1024 * 87
    assert round(cost["params_m"] * 1e6) == 5_706_503
