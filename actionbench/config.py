"""From YAML files to resolved plans: loading, `base:` inheritance, `matrix:` expansion,
`--set` overrides, validation, and the resolution of each matrix cell into one `Plan` (the
spec plus every fact derived from it: id, method entry and typed options, class count, input
frames, data location).

Nothing downstream reads raw YAML or looks a fact up again: every error a user can make in a
config is raised here as a `ConfigError` naming the file, the dotted field, the bad value and
what was expected.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
import reprlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from . import models  # noqa: F401  (registers every method and backbone)
from .core.errors import UserError, did_you_mean, unknown_name_message
from .data.catalog import DATASETS, DatasetInfo
from .plan.plan import DataPlan, Plan, spec_id
from .plan.registry import METHODS, Method
from .plan.schema import ExperimentSpec, section_model

BASE_KEY = "base"
MATRIX_KEY = "matrix"
MAX_YAML_VALUES = 100_000
"""Values a YAML document may hold once its aliases are expanded. An experiment file holds a
few hundred; aliases of aliases (`b: [*a, *a, ...]`, the "billion laughs") multiply them, and
a document of a few lines reaching millions would take minutes and gigabytes to validate."""
SHOWN = reprlib.Repr()
SHOWN.maxstring = SHOWN.maxother = 80
SHOWN.maxlist = SHOWN.maxtuple = SHOWN.maxdict = 6
SHOWN.maxlevel = 3
"""How a bad value is echoed in a message: at most a line, however large the value."""


class ConfigError(UserError):
    def __init__(self, source: str, message: str, field: str | None = None):
        where = f"{source}: field '{field}'" if field else source
        super().__init__(f"{where}: {message}")


# ---------------------------------------------------------------- reading YAML


def read_yaml(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, f"cannot read the file ({exc})") from None
    try:
        data = load_yaml_text(text, source)
    except yaml.constructor.ConstructorError as exc:
        raise ConfigError(_yaml_location(source, exc),
                          f"unsupported YAML tag ({exc.problem}); only plain YAML is accepted") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(_yaml_location(source, exc), f"YAML syntax error: {problem}") from None
    if data is None:
        raise ConfigError(source, "the file is empty; expected a mapping of experiment fields")
    if not isinstance(data, dict):
        raise ConfigError(source, f"expected a mapping of experiment fields, got a {type(data).__name__}")
    return data


def load_yaml_text(text: str, source: str):
    """`yaml.safe_load`, refusing a document whose aliases expand beyond MAX_YAML_VALUES."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        values = _expanded_size(node, {})
        if values > MAX_YAML_VALUES:
            raise ConfigError(source, f"its aliases (*name) expand to more than {MAX_YAML_VALUES:,} "
                              f"values ({values:,}); an experiment file needs far fewer: write the "
                              f"values out, or use fewer nested aliases")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values `node` holds with every alias expanded; each node is visited once (an
    alias is the same node object as its anchor), so a bomb is measured without expanding it."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = 1  # a recursive alias (an anchor inside itself) counts once
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(key, sizes) + _expanded_size(value, sizes) for key, value in node.value)
    else:
        size = 1
    sizes[id(node)] = size
    return size


def _yaml_location(source: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_with_bases(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's mapping merged over its `base:` files (the file wins). `base:` is one path or
    a list of them, each relative to the declaring file and merged left to right (a later one
    wins), so a recipe can combine a dataset's settings with a reference's protocol without
    repeating either; a file reached twice through different parents is no cycle."""
    path = path.resolve()
    if path in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, path))
        raise ConfigError(str(_chain[0]), f"cyclic 'base:' chain: {cycle}", field=BASE_KEY)
    data = read_yaml(path)
    _anchor_flip_label_map(data, path, _chain[0] if _chain else path)
    merged: dict[str, Any] = {}
    for base_path in _base_paths(data.pop(BASE_KEY, None), path):
        merged = deep_merge(merged, load_with_bases(base_path, (*_chain, path)))
    return deep_merge(merged, data)


def _base_paths(base: Any, path: Path) -> list[Path]:
    """The files `base:` names in the file `path`, checked to exist."""
    if base is None:
        return []
    names = [base] if isinstance(base, str) else base
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise ConfigError(str(path), f"expected a relative file path or a non-empty list of them, "
                          f"got {SHOWN.repr(base)}", field=BASE_KEY)
    paths = [path.parent / name for name in names]
    for name, base_path in zip(names, paths):
        if not base_path.is_file():
            raise ConfigError(str(path), f"base file '{name}' not found (looked for {base_path}; a "
                              f"relative path is relative to this file)", field=BASE_KEY)
    return paths


FLIP_LABEL_MAP = ("data", "flip_label_map")


def _anchor_flip_label_map(data: dict[str, Any], path: Path, top: Path) -> None:
    """A relative `data.flip_label_map` names a file beside the experiment file `path` that
    declares it (as `base:` does), so a recipe ships its map (_base/gst/flip_pairs.txt). It is
    rewritten relative to the folder of `top`, the file being loaded, so the spec, hence the
    run id, does not depend on where the checkout lies; `resolve` makes it absolute."""
    section = data.get(FLIP_LABEL_MAP[0])
    value = section.get(FLIP_LABEL_MAP[1]) if isinstance(section, dict) else None
    if not isinstance(value, str) or Path(value).is_absolute():
        return
    target = path.parent / value
    if not target.is_file():
        raise ConfigError(str(path), f"label-swap file '{value}' not found (looked for {target}; a "
                          f"relative path is relative to this file)", field=".".join(FLIP_LABEL_MAP))
    section[FLIP_LABEL_MAP[1]] = os.path.relpath(target, top.parent)


# ---------------------------------------------------------------- dotted paths


def set_dotted(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    keys = dotted.split(".")
    node = data
    for depth, key in enumerate(keys[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            prefix = ".".join(keys[: depth + 1])
            raise ConfigError(source, f"'{prefix}' is a value, not a section", field=dotted)
        node = child
    node[keys[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """`train.epochs=1` -> ('train.epochs', 1); the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError("--set", f"expected KEY=VALUE (e.g. train.epochs=1), got '{text}'")
    try:
        return key.strip(), load_yaml_text(raw, f"--set {key.strip()}") if raw.strip() else ""
    except yaml.YAMLError:
        raise ConfigError("--set", f"cannot read the value '{raw}'", field=key.strip()) from None


def apply_override(raw: dict[str, Any], key: str, value: Any, source: str) -> None:
    """Set `key` everywhere: a key the matrix varies is narrowed to the one value, so
    `--set model.method=tsm` on a method matrix runs just the TSM cells."""
    matrix = raw.get(MATRIX_KEY)
    if isinstance(matrix, dict) and key in matrix:
        matrix[key] = [value]
    else:
        set_dotted(raw, key, value, source)


# ---------------------------------------------------------------- matrix


def expand_matrix(data: dict[str, Any], source: str) -> list[dict[str, Any]]:
    """One raw mapping per cell of the `matrix:` cross product, each with a derived name."""
    matrix = data.pop(MATRIX_KEY, None)
    if matrix is None:
        return [data]
    if not isinstance(matrix, dict) or not matrix:
        raise ConfigError(source, "expected a mapping of dotted field -> list of values",
                          field=MATRIX_KEY)
    for key, values in matrix.items():
        if not isinstance(key, str) or not all(key.split(".")):
            raise ConfigError(source, f"expected a dotted field name such as 'model.method', "
                              f"got {SHOWN.repr(key)}", field=MATRIX_KEY)
        if not isinstance(values, list) or not values:
            raise ConfigError(source, f"expected a non-empty list of values, got {SHOWN.repr(values)}",
                              field=f"{MATRIX_KEY}.{key}")
    cells = []
    for combo in itertools.product(*matrix.values()):
        cell = copy.deepcopy(data)
        for key, value in zip(matrix, combo):
            set_dotted(cell, key, value, source)
        cell["name"] = _cell_name(str(data.get("name", "")), dict(zip(matrix, combo)), source)
        cells.append(cell)
    return cells


def _cell_name(name: str, values: dict[str, Any], source: str) -> str:
    """`name` with `{model.method}`-style placeholders filled in, or suffixed with the values."""
    if "{" in name:
        def fill(match: re.Match) -> str:
            if match.group(1) not in values:
                raise ConfigError(source, f"placeholder '{{{match.group(1)}}}' is not a matrix "
                                  f"key; expected one of: {', '.join(values)}", field="name")
            return str(values[match.group(1)])

        return re.sub(r"\{([\w.]+)\}", fill, name)
    tokens = [str(value) if isinstance(value, str) else f"{key.split('.')[-1]}{value}"
              for key, value in values.items()]
    return "-".join([name, *tokens]) if name else "-".join(tokens)


# ---------------------------------------------------------------- validation


def resolve(raw: dict[str, Any], source: str, where: str | None = None) -> Plan:
    """One matrix cell's mapping, read from the file `source`, -> its plan; or a ConfigError
    naming `where` (default: the file; with the --set overrides when there are some) and the
    field."""
    where = where or source
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(where, _describe_validation_error(exc, raw)) from None
    method = _method(spec, where)
    backbone = spec.model.backbone or method.default_backbone
    if backbone not in method.accepted_backbones:
        raise ConfigError(where, f"method '{method.name}': "
                          f"{unknown_name_message('backbone', backbone, method.accepted_backbones)}",
                          field="model.backbone")
    info = _dataset(spec, where)
    for field, frames in (("data.frames", spec.data.frames), ("eval.frames", spec.eval.frames)):
        if frames is not None and frames < method.min_frames:
            raise ConfigError(where, f"method '{method.name}' needs at least {method.min_frames} "
                              f"frames, got {frames}", field=field)
    options = _options(spec, method, where)
    spec = spec.model_copy(update={"model": spec.model.model_copy(
        update={"backbone": backbone, "options": options.model_dump(mode="json")})})
    return Plan(spec=spec, source=source, id=spec_id(spec), method=method, options=options,
                num_classes=info.num_classes, data=_data_plan(spec, info, Path(source).parent))


def _describe_validation_error(exc: ValidationError, raw: dict[str, Any]) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            siblings = _field_names_at(ExperimentSpec, error["loc"][:-1])
            key = error["loc"][-1]
            lines.append(f"field '{field}': unknown key '{key}'{did_you_mean(key, siblings)}; "
                         f"expected one of: {', '.join(siblings)}")
        elif error["type"] == "missing":
            lines.append(f"field '{field}': required but missing")
        elif error["type"] == "literal_error":
            choices = re.findall(r"'([^']*)'", error["ctx"]["expected"])
            lines.append(f"field '{field}': got {SHOWN.repr(error['input'])}"
                         f"{did_you_mean(error['input'], choices)}; expected {error['ctx']['expected']}")
        elif error["type"] == "string_pattern_mismatch" and field == "name":
            lines.append(f"field 'name': {SHOWN.repr(error['input'])} is not allowed: the name becomes a "
                         f"folder in the runs folder, so it must start with a letter or digit and hold only "
                         f"letters, digits, '.', '_', '+' and '-' (no '/', no leading '.')")
        else:
            lines.append(f"field '{field}': {error['msg']}; got {SHOWN.repr(error['input'])}")
    return "; ".join(lines)


def _field_names_at(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc:
        model = section_model(model, part)
    return list(model.model_fields)


def _method(spec: ExperimentSpec, source: str) -> Method:
    if spec.model.method not in METHODS:
        raise ConfigError(source, unknown_name_message("method", spec.model.method, METHODS),
                          field="model.method")
    return METHODS[spec.model.method]


def _dataset(spec: ExperimentSpec, source: str) -> DatasetInfo:
    if spec.data.dataset not in DATASETS:
        raise ConfigError(source, unknown_name_message("dataset", spec.data.dataset, DATASETS),
                          field="data.dataset")
    return DATASETS[spec.data.dataset]


def _options(spec: ExperimentSpec, method: Method, source: str) -> BaseModel:
    try:
        return method.options.model_validate(spec.model.options)
    except ValidationError as exc:
        details = "; ".join(_describe_option_error(error, method.options) for error in exc.errors())
        raise ConfigError(source, f"method '{method.name}': {details}") from None


def _data_plan(spec: ExperimentSpec, info: DatasetInfo, folder: Path) -> DataPlan:
    """The catalog's defaults where `data:` leaves a field out; a relative label-swap file is
    taken from `folder`, the experiment file's (`_anchor_flip_label_map`)."""
    data = spec.data
    root = Path(data.root or info.root)
    return DataPlan(root=root, train_list=root / (data.train_list or info.train_list),
                    val_list=root / (data.val_list or info.val_list),
                    template=data.template or info.template, flip=info.flip,
                    synthetic=info.synthetic,
                    flip_label_map=folder / data.flip_label_map if data.flip_label_map else None)


def _describe_option_error(error: dict, options: type[BaseModel]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    field = f"field 'model.options.{key}'"
    if error["type"] == "extra_forbidden":
        names = list(options.model_fields)
        expected = f"expected one of: {', '.join(names)}" if names else "this method takes no options"
        return f"{field}: unknown option '{key}'{did_you_mean(key, names)}; {expected}"
    return f"{field}: {error['msg']}; got {SHOWN.repr(error['input'])}"


# ---------------------------------------------------------------- entry points


def experiment_files(path: Path) -> list[Path]:
    """A file, or every experiment YAML below a folder (shared `_base` recipes excluded)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*.yaml")
                      if "_base" not in p.relative_to(path).parts and p.name != "papers.yaml")
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    return [path]


def load_file(path: Path, overrides: list[str] = ()) -> list[Plan]:
    source = str(path)
    raw = load_with_bases(path)
    raw.setdefault("name", path.stem)
    where = f"{source} (with --set {' '.join(overrides)})" if overrides else source
    for key, value in map(parse_override, overrides):
        apply_override(raw, key, value, where)
    return [resolve(cell, source, where) for cell in expand_matrix(raw, where)]


def load_plans(paths: list[str | Path], overrides: list[str] = ()) -> list[Plan]:
    """The plan of every experiment below `paths`, in order, without duplicate ids."""
    seen: dict[str, Plan] = {}
    for path in paths:
        for file in experiment_files(Path(path)):
            for plan in load_file(file, overrides):
                seen.setdefault(plan.id, plan)
    if not seen:
        raise UserError(f"no experiment files found in: {', '.join(map(str, paths))}")
    return list(seen.values())
