"""Diving48 (V2 labels): Diving48_V2_train.json and Diving48_V2_test.json (objects with
vid_name, label, start_frame, end_frame) and Diving48_vocab.json (48 lists [takeoff,
somersault, twist, flight]).

Label convention: the json's own label field, an index into the vocabulary, which every
reference uses as it is. Class names are the vocabulary entries joined by spaces. The start
and end frames span the whole clip and are not needed.

The test file is written as val.txt: it is what the papers evaluate on. Videos are named by
vid_name ('<youtube id>_<number>.mp4').
"""

from __future__ import annotations

from pathlib import Path

from ...core.errors import UserError
from .common import Annotations, Entry, annotation_file, json_items, read_json

PREFIX = "Diving48_V2"


def read(folder: Path, split: int) -> Annotations:
    vocab_path = annotation_file(folder, "Diving48_vocab.json")
    vocab = read_json(vocab_path)
    if not isinstance(vocab, list) or not all(isinstance(entry, list) for entry in vocab):
        raise UserError(f"{vocab_path}: expected a JSON list of [takeoff, somersault, twist, "
                        f"flight] lists")
    classes = [" ".join(str(part) for part in entry) for entry in vocab]
    splits = {}
    for name, word in (("train", "train"), ("val", "test")):
        entries = []
        for where, item in json_items(annotation_file(folder, f"{PREFIX}_{word}.json"),
                                      ("vid_name", "label")):
            label = item["label"]
            if not isinstance(label, int) or not 0 <= label < len(classes):
                raise UserError(f"{where}: label must be an integer 0..{len(classes) - 1} "
                                f"(an index into {vocab_path.name}), got {label!r}")
            entries.append(Entry((str(item["vid_name"]),), label))
        splits[name] = entries
    return Annotations(classes, splits)
