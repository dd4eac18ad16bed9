"""The protocol of a plan: defaults resolved from `data:` and `eval:`, the one-line name the
listing and the record show, and the combinations refused with the field named."""

from __future__ import annotations

import pytest
from conftest import tiny_experiment

from actionbench.config import resolve
from actionbench.core.errors import UserError
from actionbench.plan.protocol import default_scale_size


def protocol(**overrides):
    return resolve(tiny_experiment(**overrides), "row.yaml").protocol


def test_defaults_are_todays_rules_and_data_sizes():
    found = protocol()
    assert (found.train_rule, found.train_crop, found.test_rule, found.crop_rule) == \
        ("tile", "random_resized", "even", "edges")
    assert (found.input_size, found.scale_size, found.min_frames, found.flip) == (32, 32, 1, False)
    assert found.describe() == "train tile random_resized noflip | test even 1x1 edges 32/32 softmax"


def test_a_reference_protocol_is_named_in_full():
    found = protocol(data__train_rule="tsm", data__train_crop="tsn_multiscale", data__flip="always",
                     data__min_frames=3, eval__clips=2, eval__crops=3, eval__test_rule="tsm_twice",
                     eval__crop_rule="tsm", eval__input_size=32, eval__scale_size=32,
                     eval__aggregate="logits")
    assert found.describe() == ("train tsm tsn_multiscale flip min3 | "
                                "test tsm_twice 2x3 tsm 32/32 logits")
    dense = protocol(data__sampling="dense", data__dense_stride=2, data__train_rule="ibm",
                     data__train_crop="ibm_scale_jitter", data__scale_range=[32, 40],
                     eval__test_rule="linspace", eval__clips=10)
    assert dense.describe() == ("train dense2 ibm ibm_scale_jitter32-40 noflip | "
                                "test linspace 10x1 edges 32/32 softmax")


def test_test_frames_and_sampling_default_to_training_and_are_named_when_they_differ():
    same = protocol(model__method="tsn")
    assert (same.frames, same.test_frames, same.sampling, same.test_sampling) == (4, 4, "segment", "segment")
    more = protocol(model__method="tsn", eval__frames=8)
    assert (more.frames, more.test_frames) == (4, 8)
    assert more.describe() == "train f4 tile random_resized noflip | test f8 even 1x1 edges 32/32 softmax"
    dense = protocol(model__method="tsn", data__frames=5, data__dense_stride=8, eval__frames=8,
                     eval__sampling="dense", eval__test_rule="linspace", eval__clips=10)
    assert dense.describe() == ("train f5 tile random_resized noflip | "
                                "test dense8 f8 linspace 10x1 edges 32/32 softmax")
    plan = resolve(tiny_experiment(model__method="tsn", data__frames=5, eval__frames=8), "row.yaml")
    assert plan.input_frames == 8  # the cost is measured on the test clip


def test_eval_sizes_default_to_data_then_to_the_256_for_224_ratio():
    assert default_scale_size(224) == 256 and default_scale_size(256) == 293
    found = protocol(data__scale_size=None, eval__input_size=256)
    assert (found.input_size, found.scale_size) == (256, 293)
    found = protocol(data__input_size=224, data__scale_size=256, eval__input_size=256)
    assert (found.input_size, found.scale_size) == (256, 256)  # TSM's full resolution
    found = protocol(data__scale_size=None, eval__input_size=256, eval__scale_size=256)
    assert (found.input_size, found.scale_size) == (256, 256)


@pytest.mark.parametrize("flip, mapped, expected", [
    ("dataset", False, (False, False)),  # synthmotion's labels are directions: never flipped
    ("dataset", True, (True, True)),
    ("always", False, (True, False)),
    ("always", True, (True, True)),
    ("never", False, (False, False)),
])
def test_flip_applies_the_setting_to_the_catalog_rule(flip, mapped, expected):
    overrides = {"data__flip_label_map": "flips.txt"} if mapped else {}
    found = protocol(data__flip=flip, **overrides)
    assert (found.flip, found.label_swaps) == expected


@pytest.mark.parametrize("overrides, field, fragment", [
    ({"eval__test_rule": "tsm_twice"}, "eval.test_rule", "exactly 2 clips"),
    ({"eval__test_rule": "tsn_val", "eval__clips": 2}, "eval.test_rule", "exactly 1 clip"),
    ({"eval__test_rule": "linspace"}, "eval.test_rule", "does not apply to segment sampling"),
    ({"data__sampling": "dense", "eval__test_rule": "ibm_offsets"}, "eval.test_rule",
     "does not apply to dense sampling"),
    ({"model__method": "pan", "data__train_rule": "ibm"}, "data.train_rule", "reads 4"),
    ({"model__method": "pan", "eval__test_rule": "ibm_offsets"}, "eval.test_rule", "reads 4"),
    ({"data__flip": "never", "data__flip_label_map": "flips.txt"}, "data.flip", "contradicts"),
    ({"eval__scale_size": 30}, "eval.scale_size", "smaller than the test crop (32)"),
    ({"eval__frames": 8}, "eval.frames", "'tsm' is built for the 4 segments it trains on"),
    ({"model__method": "s3d", "model__backbone": None, "data__frames": 16, "eval__frames": 8},
     "eval.frames", "needs at least 14 frames, got 8"),
    ({"model__method": "timesformer", "model__backbone": None, "eval__input_size": 64,
      "eval__scale_size": 64}, "eval.input_size",
     "'timesformer' is built for the 32x32 crop it trains on (data.input_size; its position "
     "tables are sized for it) and cannot test 64x64"),
    ({"eval__sampling": "dense", "eval__test_rule": "tsm_twice", "eval__clips": 2},
     "eval.test_rule", "does not apply to dense sampling"),
    ({"data__train_crop": "ibm_scale_jitter", "data__scale_range": [28, 40]}, "data.scale_range",
     "smaller than the training crop"),
])
def test_protocols_that_cannot_run_name_the_file_and_field(overrides, field, fragment):
    with pytest.raises(UserError) as error:
        resolve(tiny_experiment(**overrides), "row.yaml")
    assert f"row.yaml: field '{field}'" in str(error.value) and fragment in str(error.value)


def test_a_network_sized_for_its_crop_may_name_that_crop_as_the_test_crop():
    plan = resolve(tiny_experiment(model__method="videomae", model__backbone=None,
                                   eval__input_size=32), "row.yaml")
    assert plan.input_size == 32


def test_a_reversed_scale_range_is_refused_by_the_schema():
    with pytest.raises(UserError, match="data.scale_range.*low <= high"):
        resolve(tiny_experiment(data__scale_range=[320, 256]), "row.yaml")


def test_protocol_fields_enter_the_run_id_only_when_set_to_another_value():
    plain = resolve(tiny_experiment(), "row.yaml").id
    defaults = dict(data__train_rule="tile", data__train_crop="random_resized", data__flip="dataset",
                    data__min_frames=1, data__scale_range=[256, 320], eval__test_rule="even",
                    eval__crop_rule="edges", eval__input_size=None, eval__scale_size=None,
                    eval__frames=None, eval__sampling=None)
    assert resolve(tiny_experiment(**defaults), "row.yaml").id == plain
    for dotted, value in [("data__train_rule", "tsm"), ("data__min_frames", 3),
                          ("eval__crop_rule", "tsm"), ("eval__input_size", 28),
                          ("eval__sampling", "segment")]:
        assert resolve(tiny_experiment(**{dotted: value}), "row.yaml").id != plain, dotted
