"""What every converter returns, and the file reading they share.

A converter reads one dataset's official annotation files into `Annotations`: the class
names in label order and, per split, the videos with their labels. It does not look at the
videos themselves; `pipeline.py` finds them on disk, counts their frames and writes the lists.
Every problem with an annotation file is a `UserError` naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.errors import UserError, did_you_mean


@dataclass(frozen=True)
class Entry:
    """One video of a split, as the annotations name it."""

    names: tuple[str, ...]
    """Names it may have on disk (a frame folder's name, or a video file's name without its
    suffix), most likely first."""
    label: int | None
    """None in unlabelled test splits."""


@dataclass(frozen=True)
class Annotations:
    classes: list[str]
    """Class names; the position of a name is its label."""
    splits: dict[str, list[Entry]]
    """'train', 'val' and, where the dataset has one, 'test' -> its videos, in file order."""


@dataclass(frozen=True)
class Converter:
    read: Callable[[Path, int], Annotations]
    """(annotations folder, official split number) -> Annotations."""
    files: str
    """The official files it reads, for help and error messages."""
    splits: int = 1
    """How many official train/test splits the dataset has (UCF101 and HMDB51: 3)."""


def annotation_file(folder: Path, *names: str) -> Path:
    """The first of `names` present in `folder` (official files were renamed between releases)."""
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise UserError(f"--annotations: '{folder / names[0]}' not found; expected the official file "
                    f"{' or '.join(repr(name) for name in names)} in {folder}")


def read_lines(path: Path) -> list[tuple[str, str]]:
    """(where, stripped line) for every non-blank line, `where` being 'file:line'."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read annotation file ({exc})") from None
    return [(f"{path}:{number}", line.strip())
            for number, line in enumerate(text.splitlines(), start=1) if line.strip()]


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read annotation file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def json_items(path: Path, keys: tuple[str, ...]) -> list[tuple[str, dict]]:
    """(where, item) for a JSON file holding a list of objects that each have `keys`."""
    data = read_json(path)
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON list of objects with {', '.join(keys)}")
    items = []
    for number, item in enumerate(data):
        where = f"{path}: item {number}"
        if not isinstance(item, dict) or any(key not in item for key in keys):
            raise UserError(f"{where}: expected an object with {', '.join(keys)}, got {item!r:.200}")
        items.append((where, item))
    return items


def label_of(index: dict[str, int], name: str, where: str) -> int:
    """The label of class `name`, or a UserError saying which file and line named it."""
    if name not in index:
        raise UserError(f"{where}: unknown class '{name}'{did_you_mean(name, index)}")
    return index[name]


def positions(names: list[str]) -> dict[str, int]:
    return {name: position for position, name in enumerate(names)}
