"""Something-Something V1 and V2 and Jester: the 20BN annotation formats.

Files:
- V1: something-something-v1-labels.csv (one class per line), -train.csv and -validation.csv
  ('id;class' lines), -test.csv ('id' lines).
- Jester: the same with the prefix jester-v1.
- V2: something-something-v2-labels.json ({class: "index"}), -train.json and
  -validation.json (objects with id, label, template, placeholders), -test.json (objects with
  id).

Label convention, as the released checkpoints were trained:
- V1 and Jester: the position of the class in the *sorted* lines of the labels csv. TRN's
  process_dataset.py sorts them, and TSM's tools/gen_label_sthv1.py, PAN's copy of it and
  GST (which prepares data as TRN does) follow; these are the repositories that release V1
  checkpoints. (mmaction2's tools/data/parse_file_list.py keeps the file's line order instead,
  so its V1 and Jester checkpoints use other indices.)
- V2: the index the labels json gives to the video's `template` with its brackets removed
  ("Putting [something] on [something]" -> "Putting something on something"), as TSM's
  tools/gen_label_sthv2.py, IBM's tools/extract_videos_st2st_v2.py and mmaction2 do. (The
  `label` field holds the filled-in description, "Putting a pen on a book", and is not used.)

Videos are named by their id: V1 and Jester ship frame folders '<id>/00001.jpg', V2 ships
'<id>.webm'.
"""

from __future__ import annotations

from pathlib import Path

from ...core.errors import UserError
from .common import (
    Annotations,
    Entry,
    annotation_file,
    json_items,
    label_of,
    positions,
    read_json,
    read_lines,
)

SPLIT_FILES = {"train": "train", "val": "validation", "test": "test"}
"""Our split name -> the word in the official file names."""


def read_ssv1(folder: Path, split: int) -> Annotations:
    return _read_csv_family(folder, "something-something-v1")


def read_jester(folder: Path, split: int) -> Annotations:
    return _read_csv_family(folder, "jester-v1")


def _read_csv_family(folder: Path, prefix: str) -> Annotations:
    classes = sorted(line for _, line in read_lines(annotation_file(folder, f"{prefix}-labels.csv")))
    index = positions(classes)
    splits = {}
    for split, word in SPLIT_FILES.items():
        entries = []
        for where, line in read_lines(annotation_file(folder, f"{prefix}-{word}.csv")):
            video, separator, name = line.partition(";")
            if split == "test":
                entries.append(Entry((video,), None))
            elif not separator:
                raise UserError(f"{where}: expected 'id;class', got '{line}'")
            else:
                entries.append(Entry((video,), label_of(index, name, where)))
        splits[split] = entries
    return Annotations(classes, splits)


def read_ssv2(folder: Path, split: int) -> Annotations:
    prefix = "something-something-v2"
    classes = _json_classes(annotation_file(folder, f"{prefix}-labels.json"))
    index = positions(classes)
    splits = {}
    for split_name, word in SPLIT_FILES.items():
        path = annotation_file(folder, f"{prefix}-{word}.json")
        if split_name == "test":
            splits[split_name] = [Entry((str(item["id"]),), None) for _, item in json_items(path, ("id",))]
            continue
        splits[split_name] = [
            Entry((str(item["id"]),),
                  label_of(index, item["template"].replace("[", "").replace("]", ""), where))
            for where, item in json_items(path, ("id", "template"))]
    return Annotations(classes, splits)


def _json_classes(path: Path) -> list[str]:
    """Class names ordered by the indices of a {name: "index"} file, which must be 0..n-1."""
    data = read_json(path)
    if not isinstance(data, dict) or not data:
        raise UserError(f"{path}: expected a JSON object {{class name: index}}")
    try:
        by_index = {int(value): name for name, value in data.items()}
    except (TypeError, ValueError):
        raise UserError(f"{path}: every class must map to an integer index") from None
    if sorted(by_index) != list(range(len(data))):
        raise UserError(f"{path}: class indices must be 0..{len(data) - 1}, each once")
    return [by_index[label] for label in range(len(data))]
