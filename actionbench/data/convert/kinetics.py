"""Kinetics-400: train.csv, validate.csv (val.csv in the CVDF re-release) and test.csv, with
the header 'label,youtube_id,time_start,time_end,split' (plus is_cc in later releases; the
test file's label column is empty or absent in some releases).

Label convention: the position of the class name, as the csv writes it, in the sorted class
names of train.csv, as IBM's tools/extract_videos_kinetics.py and mmaction2's
tools/data/parse_file_list.py compute it and as the alphabetical kinetics_label_map.txt of
TSN and TSM gives it.

Videos are named '<youtube_id>_<time_start:06d>_<time_end:06d>' (the ActivityNet crawler's
names, used by IBM and mmaction2) or by the YouTube id alone, in one folder or in per-class
folders.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ...core.errors import UserError
from .common import Annotations, Entry, annotation_file, label_of, positions

COLUMNS = ("youtube_id", "time_start", "time_end")
SPLIT_FILES = {"train": ("train.csv",), "val": ("validate.csv", "val.csv"), "test": ("test.csv",)}


def read(folder: Path, split: int) -> Annotations:
    paths = {name: annotation_file(folder, *files) for name, files in SPLIT_FILES.items()}
    rows = {name: _rows(path) for name, path in paths.items()}
    classes = sorted({row.get("label", "") for _, row in rows["train"]})
    if not classes or "" in classes:
        raise UserError(f"{paths['train']}: every row needs a label")
    index = positions(classes)
    splits = {}
    for name, split_rows in rows.items():
        labelled = any(row.get("label") for _, row in split_rows)
        splits[name] = [Entry(_names(row, where), label_of(index, row.get("label", ""), where)
                              if labelled else None)
                        for where, row in split_rows]
    return Annotations(classes, splits)


def _rows(path: Path) -> list[tuple[str, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
            if missing:
                raise UserError(f"{path}:1: header lacks {', '.join(missing)}; expected "
                                f"'label,youtube_id,time_start,time_end,split'")
            return [(f"{path}:{reader.line_num}", {key: (value or "").strip()
                                                   for key, value in row.items() if key})
                    for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: cannot read annotation file ({exc})") from None


def _names(row: dict[str, str], where: str) -> tuple[str, ...]:
    try:
        start, end = int(float(row["time_start"])), int(float(row["time_end"]))
    except ValueError:
        raise UserError(f"{where}: time_start and time_end must be numbers, got "
                        f"'{row['time_start']}', '{row['time_end']}'") from None
    return f"{row['youtube_id']}_{start:06d}_{end:06d}", row["youtube_id"]
