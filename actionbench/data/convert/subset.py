"""Subsets defined by a class-list file, such as IBM's mini_ssv2.txt (87 classes) and
mini_kinetics400.txt (200 classes): `data convert --classes FILE`.

Only the videos of the listed classes are kept, and labels are renumbered by each class's
position in the file, the order IBM's mini datasets index their classes in. Unlabelled
(test) splits are dropped: their videos cannot be assigned to the subset.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ...core.errors import UserError, did_you_mean
from .common import Annotations


def keep_classes(annotations: Annotations, names: list[str], source: Path) -> Annotations:
    labels = {name: label for label, name in enumerate(annotations.classes)}
    for name in names:
        if name not in labels:
            raise UserError(f"{source}: '{name}' is not a class of the dataset"
                            f"{did_you_mean(name, labels)}")
    relabel = {labels[name]: position for position, name in enumerate(names)}
    splits = {split: [replace(entry, label=relabel[entry.label]) for entry in entries
                      if entry.label in relabel]
              for split, entries in annotations.splits.items()
              if entries and entries[0].label is not None}
    return Annotations(list(names), splits)
