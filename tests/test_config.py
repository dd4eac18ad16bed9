from __future__ import annotations

import pytest
from conftest import tiny_experiment

from actionbench.config import ConfigError, load_plans
from actionbench.plan.plan import spec_id


def test_base_inheritance_file_wins(write_yaml):
    write_yaml("_base/common.yaml", {"train": {"epochs": 7, "lr": 0.3}, "data": {"frames": 16}})
    spec = tiny_experiment()
    spec["base"] = "../_base/common.yaml"
    del spec["train"]["epochs"]
    path = write_yaml("exp/a.yaml", spec)
    (experiment,) = load_plans([path])
    assert experiment.spec.train.epochs == 7  # inherited
    assert experiment.spec.train.lr == 0.01  # the file wins
    assert experiment.spec.data.frames == 4


def test_matrix_expands_cross_product_with_derived_names(write_yaml):
    spec = tiny_experiment()
    spec["matrix"] = {"model.method": ["tsn", "tsm"], "data.frames": [4, 8]}
    experiments = load_plans([write_yaml("m.yaml", spec)])
    names = [e.spec.name for e in experiments]
    assert names == ["tiny-tsn-frames4", "tiny-tsn-frames8", "tiny-tsm-frames4", "tiny-tsm-frames8"]
    assert {(e.spec.model.method, e.spec.data.frames) for e in experiments} == {
        ("tsn", 4), ("tsn", 8), ("tsm", 4), ("tsm", 8)}
    assert len({e.id for e in experiments}) == 4


def test_matrix_name_template(write_yaml):
    spec = tiny_experiment(name="x-{model.method}-f{data.frames}")
    spec["matrix"] = {"model.method": ["tsn"], "data.frames": [4]}
    (experiment,) = load_plans([write_yaml("m.yaml", spec)])
    assert experiment.spec.name == "x-tsn-f4"


def test_overrides_apply_and_change_the_id(write_yaml):
    path = write_yaml("a.yaml", tiny_experiment())
    (plain,) = load_plans([path])
    (changed,) = load_plans([path], ["train.epochs=3", "model.options={shift_div: 4}"])
    assert changed.spec.train.epochs == 3
    assert changed.spec.model.options["shift_div"] == 4
    assert plain.id != changed.id


def test_id_is_stable_and_ignores_metadata(write_yaml):
    (a,) = load_plans([write_yaml("a.yaml", tiny_experiment())])
    (b,) = load_plans([write_yaml("b.yaml", tiny_experiment(description="other words"))])
    assert a.id == b.id == spec_id(a.spec)
    assert a.id.startswith("tiny-")
    # Spelling out a default option gives the same resolved spec, hence the same id.
    (c,) = load_plans([write_yaml("c.yaml", tiny_experiment(model__options={"shift_div": 8}))])
    assert c.id == a.id


def test_folder_loading_skips_base_recipes(write_yaml, tmp_path):
    write_yaml("exps/_base/recipe.yaml", {"train": {"epochs": 2}})
    write_yaml("exps/one.yaml", tiny_experiment(name="one"))
    write_yaml("exps/sub/two.yaml", tiny_experiment(name="two"))
    names = sorted(e.spec.name for e in load_plans([tmp_path / "exps"]))
    assert names == ["one", "two"]


@pytest.mark.parametrize("overrides, fragments", [
    ({"model__method": "tsmm"}, ["model.method", "tsmm", "did you mean 'tsm'"]),
    ({"train__epohcs": 3}, ["train.epohcs", "epohcs", "did you mean 'epochs'"]),
    ({"model__backbone": "resnet51"}, ["model.backbone", "resnet51", "did you mean"]),
    ({"data__dataset": "ssv3"}, ["data.dataset", "ssv3", "did you mean 'ssv2'"]),
    ({"data__frames": 0}, ["data.frames", "greater than 0"]),
    ({"train__lr": -0.1}, ["train.lr", "-0.1"]),
    ({"train__batch_size": "many"}, ["train.batch_size", "many"]),
    ({"eval__crops": 4}, ["eval.crops", "4"]),
    ({"model__options": {"shift_dv": 4}}, ["model.options.shift_dv", "did you mean 'shift_div'"]),
    ({"name": "../escape"}, ["name", "../escape"]),
])
def test_bad_fields_name_file_field_and_value(write_yaml, overrides, fragments):
    path = write_yaml("bad.yaml", tiny_experiment(**overrides))
    with pytest.raises(ConfigError) as error:
        load_plans([path])
    message = str(error.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("- a\n- b\n", "mapping"),
    ("name: [unclosed\n", "YAML syntax error"),
    ("name: !!python/object:os.system {}\n", "unsupported YAML tag"),
])
def test_unreadable_files(write_yaml, text, fragment):
    path = write_yaml("bad.yaml", text)
    with pytest.raises(ConfigError, match=fragment):
        load_plans([path])


def test_missing_and_cyclic_base(write_yaml):
    missing = write_yaml("a.yaml", {"base": "nowhere.yaml", **tiny_experiment()})
    with pytest.raises(ConfigError, match="nowhere.yaml"):
        load_plans([missing])
    write_yaml("x.yaml", {"base": "y.yaml"})
    cyclic = write_yaml("y.yaml", {"base": "x.yaml"})
    with pytest.raises(ConfigError, match="cyclic"):
        load_plans([cyclic])


def test_a_list_of_bases_merges_left_to_right_then_the_file(write_yaml):
    """Each entry is relative to the file that declares it: recipes/ssv.yaml names
    protocol.yaml beside itself, and the experiment names recipes/ssv.yaml from exp/."""
    write_yaml("data.yaml", {"train": {"epochs": 7, "lr": 0.3, "weight_decay": 1.0e-4},
                             "data": {"frames": 16}})
    write_yaml("recipes/protocol.yaml", {"train": {"lr": 0.2, "epochs": 5}})
    write_yaml("recipes/ssv.yaml", {"base": ["../data.yaml", "protocol.yaml"],
                                    "train": {"epochs": 3}})
    spec = tiny_experiment(base=["../recipes/ssv.yaml"])
    del spec["train"]["epochs"], spec["train"]["lr"], spec["data"]["frames"]
    (experiment,) = load_plans([write_yaml("exp/a.yaml", spec)])
    train = experiment.spec.train
    # weight_decay: data.yaml only; lr: protocol.yaml over data.yaml; epochs: ssv.yaml over both
    assert (train.weight_decay, train.lr, train.epochs) == (1.0e-4, 0.2, 3)
    assert experiment.spec.data.frames == 16


def test_a_base_reached_twice_is_no_cycle(write_yaml):
    write_yaml("common.yaml", {"train": {"epochs": 2}})
    write_yaml("left.yaml", {"base": "common.yaml"})
    write_yaml("right.yaml", {"base": "common.yaml", "train": {"lr": 0.5}})
    spec = tiny_experiment(base=["left.yaml", "right.yaml"])
    del spec["train"]["epochs"], spec["train"]["lr"]
    (experiment,) = load_plans([write_yaml("a.yaml", spec)])
    assert (experiment.spec.train.epochs, experiment.spec.train.lr) == (2, 0.5)


def test_a_missing_or_cyclic_entry_of_a_base_list(write_yaml):
    write_yaml("recipes/ok.yaml", {"train": {"epochs": 2}})
    declaring = write_yaml("recipes/mid.yaml", {"base": ["ok.yaml", "gone.yaml"]})
    top = write_yaml("a.yaml", tiny_experiment(base=["recipes/mid.yaml"]))
    with pytest.raises(ConfigError) as error:
        load_plans([top])
    assert str(error.value).startswith(f"{declaring}: field 'base': base file 'gone.yaml' not found")
    write_yaml("x.yaml", {"base": ["ok.yaml", "y.yaml"]})
    write_yaml("ok.yaml", {})
    cyclic = write_yaml("y.yaml", {"base": ["x.yaml"]})
    with pytest.raises(ConfigError, match="cyclic 'base:' chain: .*y.yaml -> .*x.yaml -> .*y.yaml"):
        load_plans([cyclic])


@pytest.mark.parametrize("base", [[], [3], {"a": "b.yaml"}])
def test_a_base_that_is_no_path_or_list_of_paths(write_yaml, base):
    path = write_yaml("a.yaml", tiny_experiment(base=base))
    with pytest.raises(ConfigError, match=f"^{path}: field 'base': expected a relative file path"):
        load_plans([path])


def test_bad_matrix_and_override(write_yaml):
    spec = tiny_experiment()
    spec["matrix"] = {"model.method": []}
    with pytest.raises(ConfigError, match="matrix.model.method"):
        load_plans([write_yaml("m.yaml", spec)])
    path = write_yaml("a.yaml", tiny_experiment())
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_plans([path], ["train.epochs"])
    with pytest.raises(ConfigError, match="--set train.epohcs=2"):
        load_plans([path], ["train.epohcs=2"])


def test_a_field_added_later_enters_the_id_only_when_set(write_yaml):
    (default,) = load_plans([write_yaml("a.yaml", tiny_experiment())])
    (explicit,) = load_plans([write_yaml("b.yaml", tiny_experiment(eval__aggregate="softmax"))])
    (logits,) = load_plans([write_yaml("c.yaml", tiny_experiment(eval__aggregate="logits"))])
    assert default.id == explicit.id != logits.id
    assert "aggregate" not in str(default.id)
