"""The package's layers import downwards only (README, "Layout"): a module that imports against
the direction below fails this test, naming the file, the line and the import."""

from __future__ import annotations

import ast
from pathlib import Path

import actionbench

PACKAGE = Path(actionbench.__file__).parent
BELOW_THE_WORKERS = {"core", "plan"}
WORKERS = {"data", "models", "engine", "cost"}
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "plan": {"core"},
    **{worker: BELOW_THE_WORKERS for worker in WORKERS},
    "store": BELOW_THE_WORKERS,
    "config": BELOW_THE_WORKERS | {"data", "models"},
    "runner": BELOW_THE_WORKERS | WORKERS | {"store"},
    "report": BELOW_THE_WORKERS | {"store"},
    "api": BELOW_THE_WORKERS | {"config", "models"},
    "commands": BELOW_THE_WORKERS | WORKERS | {"store", "config", "runner", "report", "api"},
    "cli": {"core", "commands"},
    "__init__": {"core", "api"},
}
"""Which layers each layer may import; within a layer, its own modules import each other freely."""


def layer_of(module: str) -> str:
    """'actionbench.data.loader' -> 'data'; 'actionbench' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import of an actionbench module in `path`, including
    the imports inside functions."""
    module, found = module_name(path), []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" if not node.module else target for alias in node.names]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "actionbench"]


def test_every_import_runs_down_the_layers():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = layer_of(module_name(path))
        assert layer in ALLOWED, f"{path}: layer '{layer}' is not in the layering; add it"
        for line, target in imported(path):
            target_layer = layer_of(target)
            if target_layer != layer and target_layer not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {layer} imports "
                             f"{target} ({target_layer})")
    assert wrong == []


def test_the_checker_sees_relative_and_lazy_imports():
    targets = {name for _, name in imported(PACKAGE / "models" / "builder.py")}
    assert {"actionbench.plan.plan", "actionbench.core.errors"} <= targets
    assert "actionbench.models" in {name for _, name in imported(PACKAGE / "config.py")}
    assert "actionbench.commands" in {name for _, name in imported(PACKAGE / "cli.py")}  # lazy
    assert layer_of("actionbench.data.loader") == "data" and layer_of("actionbench") == "__init__"
