"""The dataset catalog: what actionbench knows about each dataset without reading it.

Class counts live here so that `profile` can build a model with the right head for any
dataset without its files being present. Adding a dataset is one `DatasetInfo` entry (plus,
where its official annotations need one, a converter in `data/convert/`).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..core.errors import UserError, unknown_name_message

Layout = Literal["frames", "videos"]
ListFormat = Literal["num_frames", "start_end"]

CLASSES_FILE = "classes.txt"
"""Written by `data convert` next to the lists: line i names label i."""


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    num_classes: int
    root: str
    """Default `data.root`, relative to the working directory."""
    train_list: str = "train.txt"
    val_list: str = "val.txt"
    test_list: str | None = None
    """Unlabelled test list, for datasets whose official release has a test split."""
    layout: Layout = "frames"
    """What the official release ships, so what `data convert` looks for under --root:
    folders of JPEG frames or video files. The loader goes by the list itself (see loader.py)."""
    template: str = "img_{:05d}.jpg"
    """File-name template of one frame inside a video's frame folder (1-based index)."""
    list_format: ListFormat = "num_frames"
    """Columns `data convert` writes: 'path num_frames label' (TSM) or 'path start end label'
    (IBM, whose lists the mini subsets come with)."""
    flip: bool = True
    """False for datasets whose labels depend on left/right direction: they are flipped only
    with a label-swap map (`data.flip_label_map`)."""
    subset_of: str | None = None
    """For a subset defined by a class-list file: the full dataset whose annotations it uses."""
    synthetic: bool = False
    """True when actionbench generates the data itself on first use."""
    description: str = ""


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo("synthmotion", 10, "data/synthmotion", flip=False, synthetic=True,
                    description="built-in synthetic clips in time-reversed class pairs"),
        DatasetInfo("ssv1", 174, "data/ssv1", test_list="test.txt", template="{:05d}.jpg",
                    flip=False, description="Something-Something V1"),
        DatasetInfo("ssv2", 174, "data/ssv2", test_list="test.txt", layout="videos", flip=False,
                    description="Something-Something V2"),
        DatasetInfo("mini_ssv2", 87, "data/mini_ssv2", layout="videos", list_format="start_end",
                    flip=False, subset_of="ssv2",
                    description="Something-Something V2, IBM's 87-class mini subset"),
        DatasetInfo("kinetics400", 400, "data/kinetics400", test_list="test.txt", layout="videos",
                    description="Kinetics-400"),
        DatasetInfo("mini_kinetics400", 200, "data/mini_kinetics400", layout="videos",
                    list_format="start_end", subset_of="kinetics400",
                    description="Kinetics-400, IBM's 200-class mini subset"),
        DatasetInfo("jester", 27, "data/jester", test_list="test.txt", template="{:05d}.jpg",
                    flip=False, description="20BN Jester gestures"),
        DatasetInfo("diving48", 48, "data/diving48", layout="videos",
                    description="Diving48 (V2 labels)"),
        DatasetInfo("ucf101", 101, "data/ucf101", layout="videos", description="UCF101"),
        DatasetInfo("hmdb51", 51, "data/hmdb51", layout="videos", description="HMDB51"),
        DatasetInfo("sljd", 10, "data/sljd", description="SLJD"),
    ]
}


def get_dataset(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise UserError(unknown_name_message("dataset", name, DATASETS))
    return DATASETS[name]


def split_template(template: str) -> tuple[str, str]:
    """(prefix, suffix) around the one integer field of a frame template such as
    'img_{:05d}.jpg'; anything else is a UserError, before any file is read or written."""
    try:
        parts = list(string.Formatter().parse(template))
        template.format(1)
    except (ValueError, IndexError, KeyError) as exc:
        raise UserError(f"frame template '{template}': {exc}; expected one integer field "
                        f"such as 'img_{{:05d}}.jpg'") from None
    fields = [field for _, field, _, _ in parts if field is not None]
    if len(fields) != 1 or fields[0] not in ("", "0") or "/" in template:
        raise UserError(f"frame template '{template}': expected a file name with exactly one "
                        f"positional integer field, such as 'img_{{:05d}}.jpg' or '{{:05d}}.jpg'")
    return parts[0][0], "".join(literal for literal, *_ in parts[1:])


def read_class_names(path: Path) -> list[str]:
    """A class list: one name per line (blank lines skipped), each name once."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read class list ({exc})") from None
    names: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name:
            continue
        if name in names:
            raise UserError(f"{path}:{number}: class '{name}' is listed twice "
                            f"(first on line {names[name]})")
        names[name] = number
    if not names:
        raise UserError(f"{path}: class list is empty; expected one class name per line")
    return list(names)
