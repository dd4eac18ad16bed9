"""The dataset catalog: what actionbench knows about each dataset without reading it.

Class counts live here so that `profile` can build a model with the right head for any
dataset without its files being present. Adding a dataset is one `DatasetInfo` entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError, unknown_name_message


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    num_classes: int
    root: str
    """Default `data.root`, relative to the working directory."""
    train_list: str = "train.txt"
    val_list: str = "val.txt"
    template: str = "img_{:05d}.jpg"
    """File-name template of one frame inside a video's frame folder (1-based index)."""
    flip: bool = True
    """False for datasets whose labels depend on left/right direction."""
    synthetic: bool = False
    """True when actionbench generates the data itself on first use."""
    description: str = ""


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo("synthmotion", 10, "data/synthmotion", flip=False, synthetic=True,
                    description="built-in synthetic clips in time-reversed class pairs"),
        DatasetInfo("ssv1", 174, "data/ssv1", template="{:05d}.jpg", flip=False,
                    description="Something-Something V1"),
        DatasetInfo("ssv2", 174, "data/ssv2", flip=False, description="Something-Something V2"),
        DatasetInfo("mini_ssv2", 87, "data/mini_ssv2", flip=False,
                    description="Something-Something V2, IBM's 87-class mini subset"),
        DatasetInfo("kinetics400", 400, "data/kinetics400", description="Kinetics-400"),
        DatasetInfo("mini_kinetics400", 200, "data/mini_kinetics400",
                    description="Kinetics-400, IBM's 200-class mini subset"),
        DatasetInfo("jester", 27, "data/jester", template="{:05d}.jpg", flip=False,
                    description="20BN Jester gestures"),
        DatasetInfo("diving48", 48, "data/diving48", description="Diving48 (V2 labels)"),
        DatasetInfo("ucf101", 101, "data/ucf101", description="UCF101"),
        DatasetInfo("hmdb51", 51, "data/hmdb51", description="HMDB51"),
        DatasetInfo("sljd", 10, "data/sljd", description="SLJD"),
    ]
}


def get_dataset(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise UserError(unknown_name_message("dataset", name, DATASETS))
    return DATASETS[name]
