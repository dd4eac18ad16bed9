"""Whole-model weights: our checkpoints and the reference repositories' key layouts.

Each `*_naming` function below writes our model's tensors under the names the reference code
gives them (read from its model files), independently of the rename rules under test; the
spot-checked keys are copied from the reference code's module attributes.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
import torch
from conftest import build_method, tiny_experiment

import actionbench
from actionbench.cli import main
from actionbench.config import load_plans
from actionbench.core.errors import UserError
from actionbench.data.loader import build_loaders
from actionbench.engine.evaluate import evaluate
from actionbench.models.weights import load_weights
from actionbench.plan.registry import METHODS

BLOCK = r"^backbone\.(layer\d\.\d+)\."


def tsn_wrapper(key: str) -> str:
    """TSM's TSN class (reused by GST, PAN, MIE-Net): `base_model` + `new_fc`, DataParallel."""
    key = re.sub(r"^head\.fc\.", "new_fc.", key)
    return "module." + re.sub(r"^backbone\.", "base_model.", key)


def ibm_naming(key: str) -> str:
    for index, name in enumerate(("prev", "curr", "next")):
        key = key.replace(f".conv1.temporal.blend.{index}.", f".tam.{name}_se.fc1.")
    key = key.replace(".conv1.layer.", ".conv1.")
    return "module." + re.sub(r"^head\.", "", re.sub(r"^backbone\.", "", key))


def tsm_naming(key: str) -> str:
    return tsn_wrapper(key.replace(".conv1.layer.", ".conv1.net."))


def gst_naming(key: str) -> str:
    key = key.replace(".conv2.temporal.", ".Tconv.").replace(".conv2.spatial.", ".conv2.")
    return tsn_wrapper(key)


def pan_naming(key: str) -> str:
    key = key.replace("stem.pa.conv.", "PA.shallow_conv.").replace(".conv1.layer.", ".conv1.net.")
    key = re.sub(r"^head\.tes\.", "base_model.fc.TES.", key)
    key = re.sub(r"^head\.fc\.", "base_model.fc.pred.", key)
    return "module." + re.sub(r"^backbone\.", "base_model.", key)


def mienet_naming(key: str) -> str:
    key = key.replace("stem.pa.conv.", "PA.shallow_conv.").replace("stem.modality_logits", "w")
    key = key.replace(".conv2.temporal.context.", ".tlam.p1_conv1.")
    key = key.replace(".conv2.temporal.attention.", ".tlam.dptam.")
    key = key.replace(".conv2.layer.", ".conv2.")
    if ".tlam." not in key:
        key = re.sub(BLOCK, r"backbone.\1.net.", key)
    return tsn_wrapper(key)


def renamed(model: torch.nn.Module, naming) -> dict[str, torch.Tensor]:
    return {naming(key): value.clone() for key, value in model.state_dict().items()}


def assert_same_state(left: torch.nn.Module, right: torch.nn.Module) -> None:
    a, b = left.state_dict(), right.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[key], b[key]) for key in a)


CASES = [
    ("tsn", {}, ibm_naming, ["module.layer1.0.conv1.weight", "module.fc.weight"]),
    ("tam", {}, ibm_naming, ["module.layer1.0.tam.prev_se.fc1.weight",
                             "module.layer4.1.tam.next_se.fc1.weight"]),
    ("i3d", {}, ibm_naming, ["module.layer2.0.downsample.0.weight", "module.fc.bias"]),
    ("tsn", {}, tsm_naming, ["module.base_model.layer1.0.conv1.weight", "module.new_fc.weight"]),
    ("tsm", {}, tsm_naming, ["module.base_model.layer1.0.conv1.net.weight",
                             "module.new_fc.bias"]),
    ("gst", {}, gst_naming, ["module.base_model.layer1.0.Tconv.weight",
                             "module.base_model.layer1.0.conv2.weight"]),
    ("pan", {}, pan_naming, ["module.PA.shallow_conv.weight", "module.base_model.fc.TES.0.weight",
                             "module.base_model.fc.pred.weight"]),
    ("mienet", {}, mienet_naming, ["module.w", "module.base_model.layer1.0.net.conv1.weight",
                                   "module.base_model.layer1.0.tlam.p1_conv1.weight",
                                   "module.base_model.layer1.0.tlam.dptam.0.weight"]),
    ("dptam", {}, mienet_naming, ["module.base_model.layer3.1.tlam.dptam.3.weight"]),
]


@pytest.mark.parametrize("method, options, naming, reference_keys", CASES,
                         ids=[f"{case[0]}-{case[2].__name__}" for case in CASES])
def test_reference_checkpoint_lands_in_the_same_places(tmp_path, method, options, naming,
                                                       reference_keys):
    source = build_method(method, **options)
    for index, tensor in enumerate(source.state_dict().values()):
        if tensor.is_floating_point():
            tensor.copy_(torch.randn_like(tensor) + index)
    state = renamed(source, naming)
    assert set(reference_keys) <= state.keys()
    path = tmp_path / "released.pth.tar"
    torch.save({"epoch": 50, "state_dict": state}, path)
    target = build_method(method, **options)
    load_weights(target, METHODS[method], path)
    assert_same_state(source, target)


def test_gst_3d_kernels_with_a_singleton_time_axis_fit_our_2d_convs(tmp_path):
    source = build_method("gst")
    state = renamed(source, gst_naming)
    state = {key: value.unsqueeze(2) if value.ndim == 4 else value for key, value in state.items()}
    assert state["module.base_model.conv1.weight"].shape == (64, 3, 1, 7, 7)
    torch.save({"state_dict": state}, tmp_path / "gst.pth")
    target = build_method("gst")
    load_weights(target, METHODS["gst"], tmp_path / "gst.pth")
    assert_same_state(source, target)


def test_keys_the_reference_never_uses_are_skipped(tmp_path):
    source = build_method("mienet")
    state = renamed(source, mienet_naming)
    unused = {"module.PA.shallow_conv.bias": torch.zeros(8),
              "module.PA.conv1.conv.weight": torch.zeros(3, 3, 3, 3),
              "module.base_model.layer1.0.tlam.conv_mask.weight": torch.zeros(1, 64, 1, 1)}
    torch.save({"state_dict": {**state, **unused}}, tmp_path / "mie.pth")
    match = load_weights(build_method("mienet"), METHODS["mienet"], tmp_path / "mie.pth")
    assert sorted(match.unused) == sorted(key.removeprefix("module.") for key in unused)


def test_our_own_checkpoint_loads(tmp_path):
    source = build_method("tam")
    torch.save({"model": source.state_dict(), "epoch": 3}, tmp_path / "checkpoint.pt")
    target = build_method("tam")
    match = load_weights(target, METHODS["tam"], tmp_path / "checkpoint.pt")
    assert match.convention.name == "actionbench"


def test_a_checkpoint_for_another_class_count_names_the_classifier(tmp_path):
    torch.save(renamed(build_method("tsm", classes=174), tsm_naming), tmp_path / "ssv2.pth")
    with pytest.raises(UserError, match=r"ssv2\.pth.*wrong shape: new_fc\.weight \(174, 512\) "
                                        r"\(ours head\.fc\.weight \(10, 512\)\)"):
        load_weights(build_method("tsm"), METHODS["tsm"], tmp_path / "ssv2.pth")


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    state = renamed(build_method("tsm"), tsm_naming)
    del state["module.base_model.layer2.1.bn2.weight"]
    state["module.base_model.layer5.0.conv1.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "odd.pth")
    with pytest.raises(UserError) as error:
        load_weights(build_method("tsm"), METHODS["tsm"], tmp_path / "odd.pth")
    message = str(error.value)
    assert "mit-han-lab/temporal-shift-module" in message
    assert "missing: backbone.layer2.1.bn2.weight" in message
    assert "unexpected: base_model.layer5.0.conv1.weight" in message


def test_a_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"model": print}))
    with pytest.raises(UserError, match="evil.pth: refused: the file holds Python objects"):
        load_weights(build_method("tsn"), METHODS["tsn"], path)


def test_build_model_returns_an_eval_network_with_the_weights(tmp_path, write_yaml):
    config = write_yaml("exp.yaml", tiny_experiment(model__method="tam"))
    source = build_method("tam", dropout=0.5)
    torch.save({"model": source.state_dict()}, tmp_path / "tam.pt")
    model = actionbench.build_model(config, weights=tmp_path / "tam.pt")
    assert not model.training
    assert_same_state(source, model)
    clips = torch.randn(2, 3, 4, 32, 32)
    assert torch.allclose(model(clips), source.eval()(clips))


def test_build_model_refuses_a_matrix_that_is_not_narrowed(write_yaml):
    config = write_yaml("m.yaml", {**tiny_experiment(), "matrix": {"model.method": ["tsn", "tsm"]}})
    with pytest.raises(UserError, match="expands to 2 experiments"):
        actionbench.build_model(config)
    assert actionbench.build_model(config, overrides=["model.method=tsn"]) is not None


def test_eval_writes_a_record_for_released_weights(tmp_path, write_yaml, synth_root, capsys):
    config = write_yaml("exp.yaml", tiny_experiment(data__root=str(synth_root)))
    source = build_method("tsm")
    for tensor in source.state_dict().values():
        if tensor.is_floating_point():
            tensor.add_(0.1 * torch.randn_like(tensor))
    torch.save({"state_dict": renamed(source, tsm_naming)}, tmp_path / "TSM_released.pth")
    runs = tmp_path / "runs"
    args = ["eval", str(config), "--weights", str(tmp_path / "TSM_released.pth"),
            "--runs", str(runs), "--device", "cpu"]
    assert main(args) == 0
    (path,) = runs.glob("*/result.json")
    record = json.loads(path.read_text())
    assert record["status"] == "finished" and record["epochs"] == 0
    assert record["weights"]["key_convention"] == "mit-han-lab/temporal-shift-module"
    assert record["id"].startswith("tiny-w" + record["weights"]["sha256"][:8])
    plan = load_plans([config])[0]
    expected = evaluate(source, build_loaders(plan, train=False)[1], torch.device("cpu"))
    assert record["top1"] == pytest.approx(expected["top1"])

    torch.save({"state_dict": renamed(build_method("tsm", classes=174), tsm_naming)},
               tmp_path / "ssv2.pth")
    capsys.readouterr()
    assert main([*args[:3], str(tmp_path / "ssv2.pth"), *args[4:]]) == 2
    error = capsys.readouterr().err
    assert "ssv2.pth" in error and "new_fc.weight" in error and "Traceback" not in error
    assert len(list(runs.iterdir())) == 1  # the refused weights left no run folder behind


def reference_state(key_list: Path) -> dict[str, torch.Tensor]:
    """A state dict with the keys, dtypes and shapes of `key_list`, tensor i filled with i."""
    state = {}
    for line in key_list.read_text().splitlines():
        if line.startswith("#"):
            continue
        key, dtype, shape = line.split()
        size = () if shape == "-" else tuple(int(side) for side in shape.split("x"))
        state[key] = torch.full(size, len(state), dtype=getattr(torch, dtype))
    return state


def test_mienet_dptam_checkpoint_loads_into_dptam_without_its_afm_weights(tmp_path):
    # Keys of a checkpoint MIE-Net's own code saves for its DPTAM model (tests/data/, see its header).
    state = reference_state(Path(__file__).parent / "data" / "mienet_dptam_r50_keys.txt")
    assert "module.w" in state  # created for every ResNet, read only by the RGB + motion forward
    torch.save({"epoch": 1, "arch": "resnet50", "state_dict": state, "best_prec1": 0.0},
               tmp_path / "ckpt.best.pth.tar")
    target = build_method("dptam", frames=8, backbone="resnet50")
    match = load_weights(target, METHODS["dptam"], tmp_path / "ckpt.best.pth.tar")
    assert "w" in match.unused and all("conv_mask" in key for key in set(match.unused) - {"w"})
    filled = [int(tensor.flatten()[0]) for tensor in target.state_dict().values()]
    assert len(set(filled)) == len(filled) == len(state) - len(match.unused)  # each tensor once
    assert target.state_dict()["head.fc.weight"].eq(len(state) - 2).all()  # module.new_fc.weight
