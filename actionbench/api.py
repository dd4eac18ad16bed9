"""The Python entry point for people who use actionbench models from their own code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from .config import load_plans, resolve
from .core.errors import UserError
from .plan.plan import Plan


def resolve_plan(config: str | Path | Plan | dict[str, Any], overrides: Sequence[str] = ()) -> Plan:
    """One experiment's plan from a YAML file (its matrix narrowed by `overrides` to a single
    cell), a mapping with the YAML's content, or a plan."""
    if isinstance(config, Plan):
        return config
    if isinstance(config, dict):
        return resolve(config, "<build_model config>")
    plans = load_plans([config], list(overrides))
    if len(plans) != 1:
        names = ", ".join(plan.name for plan in plans)
        raise UserError(f"{config}: expands to {len(plans)} experiments ({names}); "
                        "pick one with overrides such as ['model.method=tsm']")
    return plans[0]


def build_model(config: str | Path | Plan | dict[str, Any],
                weights: str | Path | None = None, overrides: Sequence[str] = ()) -> nn.Module:
    """The experiment's network in eval mode: float clips (N, C, T, H, W), normalised with the
    ImageNet mean and std, to logits (N, classes). `weights` is an actionbench checkpoint or
    one released by a reference repository (IBM, TSM, GST, PAN, MIE-Net), matched by key
    name and shape; anything that does not fit is a UserError naming the keys."""
    from .models import build_network
    from .models.weights import load_weights

    plan = resolve_plan(config, overrides)
    model = build_network(plan)
    if weights is not None:
        load_weights(model, plan.method, Path(weights))
    return model.eval()
