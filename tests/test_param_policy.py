"""`train.param_policy`: the SGD parameter groups of each reference's training script.

The tiny plan is a TSM-ResNet-18 on synthmotion (10 classes), lr 0.01, weight decay 5e-4. Its
tensors, counted by hand from torchvision's ResNet-18: 20 conv weights (the stem, 2 per basic
block x 8, 3 downsampling convs; none has a bias), 20 BatchNorm layers x (weight, bias) = 40,
and the classifier's weight and bias: 62 in all.
"""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_experiment

from actionbench.config import resolve
from actionbench.core.errors import UserError
from actionbench.engine.recipe import apply_partial_bn, build_optimizer, parameter_groups
from actionbench.models import build_network

DECAY = 5e-4


def plan_and_model(**overrides):
    plan = resolve(tiny_experiment(**overrides), "test.yaml")
    torch.manual_seed(0)
    return plan, build_network(plan)


def summary(model, plan) -> list[tuple[float, float, int]]:
    """(lr, weight decay, tensors) per group, in group order."""
    return [(pytest.approx(group["lr"]), group["weight_decay"], len(group["params"]))
            for group in parameter_groups(model, plan)]


def group_of(model, plan, param) -> tuple[float, float]:
    (lr, decay), = [(group["lr"], group["weight_decay"]) for group in parameter_groups(model, plan)
                    if any(p is param for p in group["params"])]
    return pytest.approx(lr), decay


def test_uniform_keeps_todays_groups():
    """Weights decayed (20 convs + the fc weight), biases and BatchNorm not (40 + the fc bias),
    one lr: what every run made before the field existed trained with."""
    plan, model = plan_and_model()
    assert plan.spec.train.param_policy == "uniform"
    assert summary(model, plan) == [(0.01, DECAY, 21), (0.01, 0.0, 41)]
    assert group_of(model, plan, model.head.fc.weight) == (0.01, DECAY)
    assert group_of(model, plan, model.head.fc.bias) == (0.01, 0.0)


def test_tsn_fc5_is_tsms_get_optim_policies():
    """TSM's groups: conv weights x1 decayed (the first conv too: RGB), BatchNorm x1 undecayed,
    the linear layer x5 decayed and its bias x10 undecayed."""
    plan, model = plan_and_model(train__param_policy="tsn_fc5")
    assert summary(model, plan) == [(0.01, DECAY, 20), (0.01, 0.0, 40), (0.05, DECAY, 1), (0.1, 0.0, 1)]
    assert group_of(model, plan, model.backbone.conv1.weight) == (0.01, DECAY)
    assert group_of(model, plan, model.head.fc.bias) == (0.1, 0.0)


def test_tsn_is_gsts_get_optim_policies():
    """GST's groups: no fc_lr5, so the linear layer is a conv's like: weight x1 decayed, bias x2."""
    plan, model = plan_and_model(train__param_policy="tsn")
    assert summary(model, plan) == [(0.01, DECAY, 21), (0.01, 0.0, 40), (0.02, 0.0, 1)]


def test_ibm_decays_every_parameter_alike():
    plan, model = plan_and_model(train__param_policy="ibm")
    assert summary(model, plan) == [(0.01, DECAY, 62)]


def test_tsn_leaves_frozen_batchnorm_out():
    """Partial BN: only the first BatchNorm's 2 tensors remain of the 40 (TSM's `_enable_pbn`)."""
    plan, model = plan_and_model(train__param_policy="tsn_fc5", train__partial_bn=True)
    apply_partial_bn(model)
    assert summary(model, plan) == [(0.01, DECAY, 20), (0.01, 0.0, 2), (0.05, DECAY, 1), (0.1, 0.0, 1)]


def test_pan_lite_first_conv_and_every_linear_layer():
    """PAN's `Lite` modality: the first conv is the PA layer's (no bias here), x5; every linear
    layer is x5, VAP's two bias-free TES layers with the classifier: 4 tensors x5, 1 bias x10.
    The backbone's 20 conv weights stay x1, its 40 BatchNorm tensors undecayed."""
    plan, model = plan_and_model(model__method="pan", train__param_policy="tsn_fc5")
    assert summary(model, plan) == [(0.05, DECAY, 4), (0.01, DECAY, 20), (0.01, 0.0, 40), (0.1, 0.0, 1)]
    assert group_of(model, plan, model.stem.pa.conv.weight) == (0.05, DECAY)
    assert group_of(model, plan, model.backbone.conv1.weight) == (0.01, DECAY)


def test_mienet_fusion_weights_stay_where_they_start():
    """MIE-Net's `w` (our stem.modality_logits) sits on a container, not on a conv, linear or
    BatchNorm layer, so MIE-Net's get_optim_policies never gives it to SGD: it keeps its ones."""
    plan, model = plan_and_model(model__method="mienet", train__param_policy="tsn_fc5")
    logits = model.stem.modality_logits
    optimizer = build_optimizer(model, plan)
    assert not any(p is logits for group in optimizer.param_groups for p in group["params"])
    assert group_of(model, plan, model.stem.pa.conv.weight) == (0.05, DECAY)
    model(torch.randn(2, 3, 16, 32, 32)).sum().backward()
    optimizer.step()
    assert logits.grad is not None and torch.equal(logits.detach(), torch.ones(2))


def test_tsn_refuses_a_layer_it_has_no_rule_for():
    plan, model = plan_and_model(train__param_policy="tsn")
    model.extra = torch.nn.LayerNorm(4)
    with pytest.raises(UserError, match=r"test.yaml: field 'train.param_policy': 'tsn' has a rule for "
                                        r"conv, linear and BatchNorm layers only .* 'extra' is a LayerNorm"):
        parameter_groups(model, plan)


def test_tsn_policies_refuse_a_second_classifier_multiplier():
    with pytest.raises(UserError, match=r"field 'train.fc_lr_mult': .*param_policy 'tsn_fc5' sets the lr "
                                        r"of every linear layer"):
        resolve(tiny_experiment(train__param_policy="tsn_fc5", train__fc_lr_mult=[5, 10]), "test.yaml")


def test_the_default_policy_keeps_the_run_id():
    default = resolve(tiny_experiment(), "a.yaml")
    explicit = resolve(tiny_experiment(train__param_policy="uniform"), "b.yaml")
    tsn = resolve(tiny_experiment(train__param_policy="tsn_fc5"), "c.yaml")
    assert default.id == explicit.id != tsn.id
