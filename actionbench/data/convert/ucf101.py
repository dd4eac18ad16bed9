"""UCF101: classInd.txt ('1 ApplyEyeMakeup'), trainlist0N.txt ('ApplyEyeMakeup/v_..._c01.avi 1')
and testlist0N.txt ('ApplyEyeMakeup/v_..._c01.avi') for the official splits N = 1, 2, 3.

Label convention: the classInd.txt index minus 1, found from each video's class folder (the
test lists have no label column), as mmaction2's tools/data/parse_file_list.py and the TSN
and TSM UCF101 lists do; the train lists' own label column is checked against it.

The test list of a split is written as val.txt: it is what the papers evaluate on. Videos are
named by their file name without suffix ('v_ApplyEyeMakeup_g08_c01').
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ...core.errors import UserError
from .common import Annotations, Entry, annotation_file, label_of, positions, read_lines


def read(folder: Path, split: int) -> Annotations:
    classes = _class_index(annotation_file(folder, "classInd.txt"))
    index = positions(classes)
    splits = {}
    for name, word in (("train", "trainlist"), ("val", "testlist")):
        entries = []
        for where, line in read_lines(annotation_file(folder, f"{word}{split:02d}.txt")):
            video, *label = line.split()
            path = PurePosixPath(video.replace("\\", "/"))
            entry = Entry((path.stem,), label_of(index, path.parent.name, where))
            if label and label != [str(entry.label + 1)]:
                raise UserError(f"{where}: label {' '.join(label)} disagrees with classInd.txt, "
                                f"where '{path.parent.name}' is {entry.label + 1}")
            entries.append(entry)
        splits[name] = entries
    return Annotations(classes, splits)


def _class_index(path: Path) -> list[str]:
    numbered = {}
    for where, line in read_lines(path):
        number, _, name = line.partition(" ")
        if not number.isdigit() or not name.strip():
            raise UserError(f"{where}: expected 'number class', got '{line}'")
        numbered[int(number)] = name.strip()
    if sorted(numbered) != list(range(1, len(numbered) + 1)):
        raise UserError(f"{path}: class numbers must be 1..{len(numbered)}, each once")
    return [numbered[number] for number in range(1, len(numbered) + 1)]
