"""Annotation lists: one video per line, in the plain-text formats of the lists TSM, GST and
IBM's action-recognition-pytorch read.

Whitespace-separated lists, told apart by the column count (which must be the same on every
line):

- ``path num_frames label``   (TSM and GST; the first frame is 1)
- ``path start end label``    (IBM; ``end`` is inclusive)
- ``path num_frames``         (a test list without labels)

A path in these lists cannot contain spaces. IBM writes its Kinetics lists with ``;`` between
the columns, because Kinetics class folders have spaces in their names
(IBM/action-recognition-pytorch@67cc96f:tools/extract_videos_kinetics.py writes
``path;1;frames;label``, utils/dataset_config.py reads kinetics400 with ``;``). A list whose
first entry contains ``;`` is read that way, IBM's two layouts:

- ``path;start;end;label``
- ``path;start;end``          (IBM's test lists, without labels)

GST's tab-separated lists are whitespace-separated lists. IBM lists of several labels per
video (more columns) and TSM's flow lists are not read. Every problem is reported as a
`UserError` naming the file, the line and what was expected, because these files are written
by hand or by conversion scripts and a bad line should not surface as a crash deep inside a
DataLoader worker.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..core.atomic import write_text
from ..core.errors import UserError

LAYOUTS: dict[int, str] = {
    2: "path num_frames",
    3: "path num_frames label",
    4: "path start end label",
}
SEMICOLON_LAYOUTS: dict[int, str] = {
    3: "path;start;end",
    4: "path;start;end;label",
}


@dataclass(frozen=True)
class VideoRecord:
    path: str
    """Frame folder relative to the dataset root (or a video file)."""
    start: int
    """Index of the first frame, 1-based as in the list files."""
    num_frames: int
    label: int | None
    """None for test lists without labels."""
    line: int | None = dataclasses.field(default=None, compare=False)
    """Line in the list file it was read from, for messages; not part of the record's value."""


def read_list(path: Path, num_classes: int | None = None) -> list[VideoRecord]:
    """Parse and validate a whole list up front, so a typo fails before training starts."""
    path = Path(path)
    try:
        # utf-8-sig: a byte-order mark (what Windows editors write) would otherwise become
        # part of the first path, whose folder is then "not found".
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: annotation list not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read annotation list ({exc})") from None

    records: list[VideoRecord] = []
    first: tuple[int, int] | None = None  # (line number, column count) of the first entry
    layouts = LAYOUTS
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if first is None and ";" in line:
            layouts = SEMICOLON_LAYOUTS
        fields = _split(line, layouts)
        where = f"{path}:{number}"
        if first is None:
            if len(fields) not in layouts:
                expected = " or ".join(f"{count} ('{layout}')" for count, layout in layouts.items())
                raise UserError(f"{where}: expected {expected} columns, "
                                f"got {len(fields)}: '{line.strip()}'")
            first = (number, len(fields))
        elif len(fields) != first[1]:
            raise UserError(f"{where}: expected {first[1]} columns '{layouts[first[1]]}' like "
                            f"line {first[0]}, got {len(fields)}: '{line.strip()}'")
        records.append(_parse(fields, layouts[len(fields)], where, line.strip(), num_classes, number))

    if not records:
        raise UserError(f"{path}: annotation list is empty; expected one video per line as "
                        f"'{LAYOUTS[3]}', '{LAYOUTS[4]}' or '{LAYOUTS[2]}' (or IBM's "
                        f"'{SEMICOLON_LAYOUTS[4]}')")
    return records


def _split(line: str, layouts: dict[int, str]) -> list[str]:
    if layouts is SEMICOLON_LAYOUTS:
        return [field.strip() for field in line.split(";")]
    return line.split()


def _parse(fields: list[str], layout: str, where: str, line: str, num_classes: int | None,
           number: int) -> VideoRecord:
    names = layout.replace(";", " ").split()
    if not fields[0]:
        raise UserError(f"{where}: path is empty: '{line}'")
    values: dict[str, int] = {}
    for name, field in zip(names[1:], fields[1:]):
        try:
            values[name] = int(field)
        except ValueError:
            raise UserError(f"{where}: {name} must be an integer, "
                            f"got '{field}': '{line}'") from None

    if "start" in values:
        start, end = values["start"], values["end"]
        if start < 0:
            raise UserError(f"{where}: start must be >= 0, got {start}: '{line}'")
        if end < start:
            raise UserError(f"{where}: end must be >= start ({start}), got {end}: '{line}'")
        num_frames = end - start + 1
    else:
        start, num_frames = 1, values["num_frames"]
        if num_frames < 1:
            raise UserError(f"{where}: num_frames must be >= 1, got {num_frames}: '{line}'")

    label = values.get("label")
    if label is not None and (label < 0 or (num_classes is not None and label >= num_classes)):
        expected = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
        raise UserError(f"{where}: label must be {expected}, got {label}: '{line}'")
    return VideoRecord(fields[0], start, num_frames, label, number)


def drop_short(records: list[VideoRecord], min_frames: int
               ) -> tuple[list[VideoRecord], list[VideoRecord]]:
    """(records with at least `min_frames` frames, the others), both in list order.

    The references leave short videos out of their lists before sampling: TSM and GST keep
    videos of 3 frames or more (mit-han-lab/temporal-shift-module@1f6a834:ops/dataset.py
    `_parse_list`, chenxuluo/GST-video@47d39fc:dataset.py), IBM 3 for Something-Something and
    30 for Kinetics (IBM/action-recognition-pytorch@67cc96f:utils/dataset_config.py
    `filter_video`). A row scored on a filtered list is scored on other videos than the full
    list, so the caller reports both counts.
    """
    kept = [record for record in records if record.num_frames >= min_frames]
    dropped = [record for record in records if record.num_frames < min_frames]
    return kept, dropped


def write_list(path: Path, records: list[VideoRecord],
               fmt: Literal["num_frames", "start_end"] = "num_frames") -> None:
    """Write a list that `read_list` reads back to the same records, or refuse.

    A record the format cannot represent is a programming error (ValueError), not something to
    paper over: a ``num_frames`` list cannot say where a video starts, a ``start_end`` list
    needs labels, and one file cannot mix labelled and unlabelled videos.
    """
    if not records:
        raise ValueError("write_list: no records; read_list rejects an empty list")
    labelled = {record.label is not None for record in records}
    if len(labelled) > 1:
        raise ValueError("write_list: some records have a label and some do not")
    lines = []
    for record in records:
        if not record.path or any(char.isspace() for char in record.path):
            raise ValueError(f"write_list: path {record.path!r} is empty or contains whitespace, "
                             f"which list files cannot represent")
        if fmt == "num_frames":
            if record.start != 1:
                raise ValueError(f"write_list: {record.path} starts at frame {record.start}; "
                                 f"the num_frames format implies start 1, use fmt='start_end'")
            columns = [record.path, record.num_frames]
        elif fmt == "start_end":
            if record.label is None:
                raise ValueError(f"write_list: {record.path} has no label; "
                                 f"the start_end format needs one")
            columns = [record.path, record.start, record.start + record.num_frames - 1]
        else:
            raise ValueError(f"write_list: unknown format {fmt!r}")
        if record.label is not None:
            columns.append(record.label)
        lines.append(" ".join(str(column) for column in columns) + "\n")
    write_text(path, "".join(lines))
