"""Clip transforms: torchvision.transforms.v2 on uint8 video tensors (T, C, H, W).

Wrapping the clip as a `tv_tensors.Video` makes v2 draw one set of random parameters per clip,
so every frame gets the same crop and flip, as the group transforms of TSN/TSM do.
Conversion to float and normalisation happen later, on the device (see `normalize.py`).

A flip that changes the label (a clip of "pushing something from left to right", mirrored,
shows "... from right to left") is not a clip transform: `FlipWithLabelSwap` wraps the
training dataset and flips clip and label together, from a map read by `read_flip_label_map`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from ..core.errors import UserError


def default_scale_size(input_size: int) -> int:
    """The customary 256-for-224 resize ratio."""
    return round(input_size * 256 / 224)


def train_transform(input_size: int, flip: bool) -> v2.Transform:
    steps: list[v2.Transform] = [v2.RandomResizedCrop(input_size, scale=(0.4, 1.0), antialias=True)]
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def eval_transform(input_size: int, scale_size: int, crops: int) -> v2.Transform:
    """Resize the short side, then 1, 3 or 10 crops (see `SpatialCrops`).

    The result has a leading crop axis: (crops, T, C, H, W).
    """
    return v2.Compose([v2.Resize(scale_size, antialias=True), SpatialCrops(input_size, crops)])


class SpatialCrops(v2.Transform):
    """1 centre crop; 3 crops: start/centre/end along the longer side (the papers' "3 crops");
    10 crops: the four corners and the centre, and their horizontal flips (TSN's 10-crop)."""

    def __init__(self, size: int, crops: int):
        super().__init__()
        self.size = size
        self.crops = crops

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if self.crops == 1:
            return v2.functional.center_crop(video, [self.size]).unsqueeze(0)
        if self.crops == 10:
            return torch.stack(v2.functional.ten_crop(video, [self.size]))
        return three_crops(video, self.size)


def three_crops(video: torch.Tensor, size: int) -> torch.Tensor:
    height, width = video.shape[-2:]
    if width >= height:
        lefts = [0, (width - size) // 2, width - size]
        boxes = [(((height - size) // 2), left) for left in lefts]
    else:
        tops = [0, (height - size) // 2, height - size]
        boxes = [(top, (width - size) // 2) for top in tops]
    return torch.stack([video[..., top:top + size, left:left + size] for top, left in boxes])


def apply(transform: v2.Transform, frames: torch.Tensor) -> torch.Tensor:
    """`transform` on a (T, C, H, W) clip, computed channels-last (torch's vectorised uint8
    resize needs that layout and is about 4x faster than on planar frames; frames.py stacks
    decoded frames that way for free), returned planar (batches then collate by plain copies)."""
    video = tv_tensors.Video(frames.contiguous(memory_format=torch.channels_last))
    return transform(video).as_subclass(torch.Tensor).contiguous()


def read_flip_label_map(path: Path, num_classes: int,
                        class_names: list[str] | None = None) -> dict[int, int]:
    """{label: label of the mirrored clip}, symmetric, from lines 'A <-> B' where A and B are
    label numbers or class names (`class_names`, from the dataset's classes.txt); '#' starts a
    comment. A label may appear in one pair only; labels in no pair keep their label."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read data.flip_label_map ({exc})") from None
    names = {name: label for label, name in enumerate(class_names or [])}
    pairs: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        where = f"{path}:{number}"
        left, separator, right = (part.strip() for part in text.partition("<->"))
        if not separator or not left or not right:
            raise UserError(f"{where}: expected 'label <-> label', got '{text}'")
        a, b = (_flip_label(side, names, num_classes, where) for side in (left, right))
        for label in (a, b):
            if label in pairs:
                raise UserError(f"{where}: label {label} is already in a pair")
        pairs.update({a: b, b: a})
    return pairs


def _flip_label(text: str, names: dict[str, int], num_classes: int, where: str) -> int:
    if text.isdigit():
        if int(text) >= num_classes:
            raise UserError(f"{where}: label must be 0..{num_classes - 1}, got {text}")
        return int(text)
    if text not in names:
        known = "no classes.txt was found beside the lists" if not names else "not in classes.txt"
        raise UserError(f"{where}: '{text}' is not a label number and {known}")
    return names[text]


class FlipWithLabelSwap(Dataset):
    """A training dataset whose clips are mirrored half of the time, with the label swapped
    through `pairs`. It draws from torch's generator, like the transforms, so the samplers'
    seeding covers it."""

    def __init__(self, dataset: Dataset, pairs: dict[int, int]):
        self.dataset = dataset
        self.records = dataset.records
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        clip, label = self.dataset[index]
        if torch.rand(()) < 0.5:
            return clip.flip(-1), self.pairs.get(label, label)
        return clip, label
