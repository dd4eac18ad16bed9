"""The contract every registered method keeps, checked through the registry, so a new method
is tested by registering it: output shape, gradients reaching every parameter, sensitivity to
frame order (blindness for TSN), a classifier where the method says, and its cost at every
setting its authors published one."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from actionbench.cost.published import build_at, measure_setting
from actionbench.plan.registry import METHODS, ContractInput, Method, Setting

CLASSES = 10
CASES = [(method, case) for method in METHODS.values() for case in method.contract_inputs]
PUBLISHED = [(method, published) for method in METHODS.values() for published in method.published]


def case_id(case: tuple) -> str:
    method, item = case
    options = "-".join(f"{name}={value}" for name, value in item.options)
    return "-".join(filter(None, [method.name, f"f{item.frames}", options]))


def build(method: Method, case: ContractInput) -> nn.Module:
    """The network with every parameter moved a little off its initial value: the contract
    checks the architecture, and a path that starts at zero (TimeSformer's time embedding and
    temporal projections, ESTI's temporal convs) would hide its gradients and its view of time
    at initialisation."""
    setting = Setting(case.backbone, case.frames, case.size, CLASSES, case.options)
    model = build_at(method, setting)
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.02 * torch.randn(param.shape, generator=generator))
    return model


def clips(method: Method, case: ContractInput, batch: int = 2) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(batch, 3, case.frames * method.frames_per_segment, case.size, case.size,
                       generator=generator)


def seeded(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """One forward pass with the same random draws (stochastic depth) as any other."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        return model(inputs)


@pytest.fixture(params=CASES, ids=[case_id(case) for case in CASES])
def case(request):
    return request.param


def test_output_is_one_row_of_class_scores_per_clip(case):
    method, item = case
    with torch.no_grad():
        assert build(method, item).eval()(clips(method, item, batch=3)).shape == (3, CLASSES)


def test_gradients_reach_every_parameter(case):
    """In eval mode: stochastic depth (MViT, Swin) would drop whole blocks at random."""
    method, item = case
    model = build(method, item).eval()
    out = model(clips(method, item))
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(1))).sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert sorted(missing) == sorted(item.idle)


def test_frame_order_changes_the_output_unless_the_method_is_order_blind(case):
    """In training mode (no dropout at `build_at`): fresh eval-mode BatchNorm statistics shrink
    some networks' logits to the classifier's bias (S3D's default init), hiding the signal;
    batch statistics are taken over all frames, so they are themselves blind to frame order."""
    method, item = case
    model, inputs = build(method, item).train(), clips(method, item)
    with torch.no_grad():
        forward, backward = (seeded(model, inputs), seeded(model, inputs.flip(dims=[2])))
    # relative to the logits' scale, which an N(0, 0.001) classifier keeps tiny
    assert forward.abs().max() > 0
    same = torch.allclose(forward, backward, rtol=0, atol=1e-3 * forward.abs().max().item())
    assert same != method.order_sensitive


def test_the_named_classifier_produces_the_logits(case):
    method, item = case
    fc = build(method, item).get_submodule(method.classifier)
    assert getattr(fc, "out_features", getattr(fc, "out_channels", None)) == CLASSES


def assert_runs_exactly_when(accepted: bool, model: nn.Module, inputs: torch.Tensor) -> None:
    """A network the plan lets see `inputs` (another clip length or crop than it was built for)
    scores them; one it refuses fails on them rather than silently reshaping."""
    with torch.no_grad():
        if accepted:
            assert model.eval()(inputs).shape == (2, CLASSES)
        else:
            with pytest.raises((ValueError, RuntimeError)):
                model.eval()(inputs)


def test_a_longer_test_clip_runs_exactly_on_networks_that_take_any_clip_length(case):
    """eval.frames is allowed for `any_frames` methods only, so they must run on a clip of
    another length; TSM's shift, TAM, PAN, ... are built for one and must refuse another
    rather than regroup the frames silently."""
    method, item = case
    longer = ContractInput(item.backbone, item.frames + 2, item.size, item.options)
    assert_runs_exactly_when(method.any_frames, build(method, item), clips(method, longer))


def test_another_test_crop_runs_exactly_on_networks_that_take_any_size(case):
    """eval.input_size may differ from data.input_size for `any_size` methods only, so they
    must run on a crop of another side; a network with position tables sized for its training
    crop (TimeSformer, VideoMAE, MViT) must refuse one. 32 more pixels: one step of the largest
    stride here (MViT's 32), so the larger crop is a valid input for every network."""
    method, item = case
    larger = ContractInput(item.backbone, item.frames, item.size + 32, item.options)
    assert_runs_exactly_when(method.any_size, build(method, item), clips(method, larger))


@pytest.mark.parametrize("method, published", PUBLISHED,
                         ids=[f"{m.name}-{p.setting.describe()}" for m, p in PUBLISHED])
def test_cost_equals_the_published_figure(method, published):
    ours = measure_setting(method, published.setting)
    for key in ("gflops", "params_m"):
        expected = getattr(published, key)
        if expected is not None:
            assert ours[key] == pytest.approx(expected, rel=published.tolerance), key


def test_every_method_has_a_reference_note_and_valid_contract_inputs():
    for method in METHODS.values():
        assert method.docs.startswith("docs/methods/") and method.docs.endswith(".md")
        for item in method.contract_inputs:
            assert item.frames >= method.min_frames
            assert item.backbone in method.accepted_backbones
            method.options(**dict(item.options))  # the hints are valid options
