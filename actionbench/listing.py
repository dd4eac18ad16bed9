"""Text for `benchmark.py list ...`: the registries and the schema describe themselves."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from tabulate import tabulate

from .schema import ExperimentSpec, section_model


def render(what: str, experiments_dir: Path) -> str:
    return {"methods": methods, "backbones": backbones, "datasets": datasets,
            "experiments": lambda: experiments(experiments_dir), "fields": fields}[what]()


def methods() -> str:
    from .models import METHODS

    rows = []
    for method in METHODS.values():
        options = ", ".join(f"{name}={field.default}"
                            for name, field in method.options.model_fields.items())
        note = " [reconstructed from the description]" if method.reconstructed else ""
        backbones = ", ".join(method.backbones) if method.backbones else "any ResNet"
        rows.append([method.name, method.family, backbones, options or "—",
                     method.description + note])
    return tabulate(rows, headers=["method", "family", "backbones", "options (defaults)",
                                   "description"])


def backbones() -> str:
    from .models import BACKBONES

    return "\n".join(BACKBONES)


def datasets() -> str:
    from .data.catalog import DATASETS

    rows = [[info.name, info.num_classes, info.root, info.layout, "yes" if info.flip else "no",
             info.description] for info in DATASETS.values()]
    return tabulate(rows, headers=["dataset", "classes", "default root", "ships", "h-flip",
                                   "description"])


def experiments(folder: Path) -> str:
    from .config import load_experiments

    found = load_experiments([folder])
    rows = [[e.id, e.spec.model.method, e.spec.model.backbone, e.spec.data.dataset,
             e.spec.data.frames, e.source] for e in found]
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
