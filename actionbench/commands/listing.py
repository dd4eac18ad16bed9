"""Text for `benchmark.py list ...`: the registries and the schema describe themselves.

`list methods`, `list costs` and `list fields` print the README's method, cost and schema
tables; a test checks that the README shows what they print, so the README cannot drift from
the registry.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from tabulate import tabulate

from ..plan.schema import ExperimentSpec, section_model

RECONSTRUCTED_MARK = "†"


def render(what: str, experiments_dir: Path) -> str:
    return {"methods": methods, "costs": costs, "backbones": backbones, "datasets": datasets,
            "experiments": lambda: experiments(experiments_dir), "fields": fields}[what]()


def methods() -> str:
    """One row per method: family, backbones, options with defaults, what it is, its note."""
    from ..plan.registry import METHODS

    _register()
    rows = []
    for method in _in_order(METHODS.values()):
        options = ", ".join(f"{name}={field.default}"
                            for name, field in method.options.model_fields.items())
        backbones = ", ".join(method.backbones) if method.backbones else "any ResNet"
        name = method.name + (RECONSTRUCTED_MARK if method.reconstructed else "")
        rows.append([name, method.family, backbones, options or "—", method.description,
                     f"[note]({method.docs})"])
    return tabulate(rows, headers=["method", "family", "backbones", "options (defaults)",
                                   "description", "reference"], tablefmt="pipe")


def costs() -> str:
    """Every published cost beside ours at the same setting, measured now with fvcore."""
    from ..cost.published import measure_published
    from ..plan.registry import METHODS

    _register()
    rows = []
    for method in _in_order(METHODS.values()):
        for published, ours in measure_published(method):
            digits = 3 if published.exact else 2
            rows.append([method.name, published.setting.describe(),
                         f"{ours['gflops']:.{digits}f}", _figure(published.gflops, digits),
                         f"{ours['params_m']:.{digits}f}", _figure(published.params_m, digits),
                         published.source])
    return tabulate(rows, headers=["method", "setting", "GFLOPs ours", "GFLOPs published",
                                   "params (M) ours", "params (M) published", "source"],
                    tablefmt="pipe", disable_numparse=True)


def _figure(value: float | None, digits: int) -> str:
    """An exact figure to `digits` decimals, a rounded one as its source prints it."""
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if digits == 3 else f"{value:g}"


def _in_order(methods):
    """By family (2D, 3D, transformer), then name."""
    from ..plan.registry import FAMILIES

    return sorted(methods, key=lambda method: (list(FAMILIES).index(method.family), method.name))


def backbones() -> str:
    from ..plan.registry import BACKBONES

    _register()
    return "\n".join(BACKBONES)


def datasets() -> str:
    from ..data.catalog import DATASETS

    rows = [[info.name, info.num_classes, info.root, info.layout, "yes" if info.flip else "no",
             info.description] for info in DATASETS.values()]
    return tabulate(rows, headers=["dataset", "classes", "default root", "ships", "h-flip",
                                   "description"])


def experiments(folder: Path) -> str:
    from ..config import load_plans

    rows = [[plan.id, plan.method.name, plan.backbone, plan.spec.data.dataset,
             plan.spec.data.frames, plan.source] for plan in load_plans([folder])]
    return tabulate(rows, headers=["id", "method", "backbone", "dataset", "frames", "file"])


def fields() -> str:
    rows: list[list[str]] = []
    _collect(ExperimentSpec, "", rows)
    return tabulate(rows, headers=["field", "default", "description"])


def _collect(model: type[BaseModel], prefix: str, rows: list[list[str]]) -> None:
    for name, field in model.model_fields.items():
        section = section_model(model, name)
        if section is not None:
            _collect(section, f"{prefix}{name}.", rows)
            continue
        default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
        rows.append([prefix + name, default, field.description or ""])


def _register() -> None:
    """Fill the registries (importing the networks, and torch)."""
    from .. import models  # noqa: F401
