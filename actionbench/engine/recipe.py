"""The reference repositories' training recipe: the optimizer (their SGD, or AdamW) over
parameter groups (no weight decay on 1-D parameters, TSN/TSM's 5x/10x learning rate for a new
classifier), partial BN and linear learning-rate scaling."""

from __future__ import annotations

import torch
from torch import nn

from ..plan.plan import Plan
from ..plan.schema import TrainSpec


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


def parameter_groups(model: nn.Module, plan: Plan) -> list[dict]:
    """SGD groups keyed by (weight decay, lr multiplier): weight decay on weights only (no decay
    on BatchNorm parameters and biases), and `train.fc_lr_mult` for the weight and bias of
    the classifier the method names. Each group's `lr_mult` is kept for the logs."""
    train = plan.spec.train
    fc = model.get_submodule(plan.method.classifier)
    special = {id(fc.weight): train.fc_lr_mult[0]}
    if fc.bias is not None:
        special[id(fc.bias)] = train.fc_lr_mult[1]
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for param in model.parameters():
        if param.requires_grad:
            decay = train.weight_decay if param.ndim > 1 else 0.0
            groups.setdefault((decay, special.get(id(param), 1.0)), []).append(param)
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
