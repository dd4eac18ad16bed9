"""HMDB51: one '<class>_test_split<N>.txt' per class and official split N = 1, 2, 3, with
'<video>.avi <k>' lines, k = 1 for training, 2 for testing, 0 for neither.

Label convention: the position of the class in the sorted class names, as mmaction2's
tools/data/parse_file_list.py numbers them (it writes a classInd.txt from the sorted class
folders).

The test videos of a split are written as val.txt: they are what the papers evaluate on.
Videos are named by their file name without suffix.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ...core.errors import UserError
from .common import Annotations, Entry, read_lines

SUFFIX = "_test_split{}.txt"
USE = {"1": "train", "2": "val", "0": None}


def read(folder: Path, split: int) -> Annotations:
    suffix = SUFFIX.format(split)
    files = {path.name[:-len(suffix)]: path for path in Path(folder).glob(f"*{suffix}")}
    if not files:
        raise UserError(f"--annotations: no '*{suffix}' files in {folder}; expected the official "
                        f"HMDB51 split files such as 'brush_hair{suffix}'")
    classes = sorted(files)
    splits: dict[str, list[Entry]] = {"train": [], "val": []}
    for label, name in enumerate(classes):
        for where, line in read_lines(files[name]):
            fields = line.split()
            if len(fields) != 2 or fields[1] not in USE:
                raise UserError(f"{where}: expected '<video> 0|1|2', got '{line}'")
            if USE[fields[1]]:
                splits[USE[fields[1]]].append(Entry((PurePosixPath(fields[0]).stem,), label))
    return Annotations(classes, splits)
