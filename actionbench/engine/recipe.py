"""The reference repositories' training recipe: the optimizer (their SGD, or AdamW) over
parameter groups under each reference's policy (`train.param_policy`: biases, BatchNorm and
classifiers treated as its script treats them), partial BN and linear learning-rate scaling."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from ..core.errors import UserError
from ..plan.plan import Plan
from ..plan.schema import TSN_POLICIES, TrainSpec

Rates = dict[int, tuple[float, bool]]
"""id(parameter) -> (lr multiplier, weight decay applies)."""


def effective_lr(train: TrainSpec) -> float:
    """`train.lr`, scaled with the batch under `lr_scaling: linear` (Goyal et al., 2017): the
    lr was tuned for `base_batch_size` clips per step and grows in proportion to the batch."""
    if train.lr_scaling == "linear":
        return train.lr * train.batch_size / (train.base_batch_size or train.batch_size)
    return train.lr


def partial_bn_layers(model: nn.Module) -> list[nn.Module]:
    """Every BatchNorm but the first: the ones TSN's partial BN freezes."""
    return [module for module in model.modules()
            if isinstance(module, nn.modules.batchnorm._BatchNorm)][1:]


def apply_partial_bn(model: nn.Module) -> None:
    """TSN's partial BN: all BatchNorm layers but the first keep their (pretrained) running
    statistics and affine parameters, because a video batch holds few, correlated clips.
    Call it before building the optimizer and after every `model.train()`."""
    for layer in partial_bn_layers(model):
        layer.eval()
        for param in layer.parameters():
            param.requires_grad_(False)


def classifier_rates(model: nn.Module, plan: Plan) -> Rates:
    """Policies uniform and ibm: lr x1 but `train.fc_lr_mult` for the weight and bias of the
    classifier the method names; weight decay on weights only (uniform: no decay on biases and
    norms), or on every parameter (ibm: IBM's train.py hands `model.parameters()` to SGD)."""
    train = plan.spec.train
    fc = model.get_submodule(plan.method.classifier)
    special = {id(fc.weight): train.fc_lr_mult[0]}
    if fc.bias is not None:
        special[id(fc.bias)] = train.fc_lr_mult[1]
    decay_all = train.param_policy == "ibm"
    return {id(param): (special.get(id(param), 1.0), decay_all or param.ndim > 1)
            for param in model.parameters()}


def tsn_rates(model: nn.Module, plan: Plan) -> Rates:
    """Policies tsn and tsn_fc5: TSN's `get_optim_policies` (TSM, PAN, MIE-Net ops/models.py;
    GST main.py), which sorts parameters by the kind of layer that holds them, in module order.
    Conv weights x1, decayed; conv biases x2, not decayed; the first conv x
    `method.first_conv_lr_mult` (bias twice that); BatchNorm x1, not decayed; linear layers as
    convs under tsn, x5 weight and x10 (undecayed) bias under tsn_fc5, every one of them, not
    only the classifier (PAN's VAP layers too). A parameter held directly by a container (MIE-Net's
    fusion weights) is in none of these lists, so the references never update it: it is left
    out here too. Another kind of layer with parameters is refused, as the references refuse it."""
    train = plan.spec.train
    linear = (5.0, 10.0) if train.param_policy == "tsn_fc5" else (1.0, 2.0)
    rates: Rates = {}
    convs = 0
    for name, module in model.named_modules():
        if isinstance(module, _BatchNorm):
            rates.update({id(param): (1.0, False) for param in module.parameters()})
            continue
        if isinstance(module, _ConvNd):
            convs += 1
            first = plan.method.first_conv_lr_mult if convs == 1 else 1.0
            weight, bias = first, 2 * first
        elif isinstance(module, nn.Linear):
            weight, bias = linear
        else:
            if not module._modules and any(True for _ in module.parameters(recurse=False)):
                raise UserError(f"{plan.source}: field 'train.param_policy': '{train.param_policy}' "
                                f"has a rule for conv, linear and BatchNorm layers only (TSN's "
                                f"get_optim_policies), but '{name}' is a {type(module).__name__}; "
                                f"use 'uniform' or 'ibm'")
            continue
        rates[id(module.weight)] = (weight, True)
        if module.bias is not None:
            rates[id(module.bias)] = (bias, False)
    return rates


def parameter_groups(model: nn.Module, plan: Plan) -> list[dict]:
    """SGD groups keyed by (weight decay, lr multiplier), in parameter order, from the rates of
    `train.param_policy` (docs/protocols.md#91-optimizer-parameter-groups); frozen parameters
    (partial BN) stay out, as the references leave them out. Each group's `lr_mult` is kept for
    the schedule and the logs."""
    train = plan.spec.train
    rates = (tsn_rates if train.param_policy in TSN_POLICIES else classifier_rates)(model, plan)
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for param in model.parameters():
        if param.requires_grad and id(param) in rates:
            mult, decayed = rates[id(param)]
            groups.setdefault((train.weight_decay if decayed else 0.0, mult), []).append(param)
    lr = effective_lr(train)
    return [{"params": params, "weight_decay": decay, "lr": lr * mult, "lr_mult": mult}
            for (decay, mult), params in groups.items()]


def build_optimizer(model: nn.Module, plan: Plan,
                    device: torch.device | None = None) -> torch.optim.Optimizer:
    """`train.optimizer` over `parameter_groups`: SGD with momentum, or AdamW, whose decoupled
    weight decay does not shrink with the adaptive step; the fused CUDA kernel on GPUs (one
    launch for all parameters instead of several per tensor)."""
    train = plan.spec.train
    fused = (device is not None and device.type == "cuda") or None
    groups, lr = parameter_groups(model, plan), effective_lr(train)
    if train.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr, fused=fused)
    return torch.optim.SGD(groups, lr=lr, momentum=train.momentum, fused=fused)
