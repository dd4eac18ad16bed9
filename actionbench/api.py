"""The Python entry point for people who use actionbench models from their own code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from .config import load_experiments, validate
from .errors import UserError
from .schema import ExperimentSpec


def resolve_spec(config: str | Path | ExperimentSpec | dict[str, Any],
                 overrides: Sequence[str] = ()) -> ExperimentSpec:
    """One experiment from a YAML file (its matrix narrowed by `overrides` to a single cell),
    a mapping with the YAML's content, or a spec."""
    if isinstance(config, ExperimentSpec):
        return config
    if isinstance(config, dict):
        return validate(config, "<build_model config>")
    experiments = load_experiments([config], list(overrides))
    if len(experiments) != 1:
        names = ", ".join(experiment.spec.name for experiment in experiments)
        raise UserError(f"{config}: expands to {len(experiments)} experiments ({names}); "
                        "pick one with overrides such as ['model.method=tsm']")
    return experiments[0].spec


def build_model(config: str | Path | ExperimentSpec | dict[str, Any],
                weights: str | Path | None = None, overrides: Sequence[str] = ()) -> nn.Module:
    """The experiment's network in eval mode: float clips (N, C, T, H, W), normalised with the
    ImageNet mean and std, to logits (N, classes). `weights` is an actionbench checkpoint or
    one released by a reference repository (IBM, TSM, GST, PAN, MIE-Net), matched by key
    name and shape; anything that does not fit is a UserError naming the keys."""
    from .models import build_network
    from .models.weights import load_weights

    spec = resolve_spec(config, overrides)
    model = build_network(spec)
    if weights is not None:
        load_weights(model, spec.model.method, Path(weights))
    return model.eval()
