"""Clip transforms: torchvision.transforms.v2 on uint8 video tensors (T, C, H, W).

Wrapping the clip as a `tv_tensors.Video` makes v2 draw one set of random parameters per clip,
so every frame gets the same crop and flip, as the group transforms of TSN/TSM do.
Conversion to float and normalisation happen later, on the device (see `normalize.py`).

The training crop is ours (`random_resized`, the default) or a reference's: TSN's multi-scale
crop, used by TSM, GST, PAN, MIE-Net and IBM's default augmentor
(mit-han-lab/temporal-shift-module@1f6a834:ops/transforms.py `GroupMultiScaleCrop`), or IBM's
``--augmentor_ver v2`` scale jitter (IBM/action-recognition-pytorch@67cc96f:utils/utils.py
`get_augmentor`). Test crops sit where the crop rule of `crops.py` puts them.

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
from ..plan.plan import Plan
from ..plan.schema import CropRule, TrainCrop
from .crops import TSN_SCALES, crop_boxes, fixed_offsets, multiscale_sizes


def train_transform(input_size: int, flip: bool, crop: TrainCrop = "random_resized",
                    scale_range: tuple[int, int] = (256, 320)) -> v2.Transform:
    """The training crop to `input_size`, then a random horizontal flip if `flip`.

    `random_resized` draws 40-100 % of the frame's area at aspect ratios 3/4-4/3;
    `tsn_multiscale` is `MultiScaleCrop`; `ibm_scale_jitter` resizes the short side to a size
    drawn from `scale_range` (both ends included) and cuts a uniformly placed crop.
    """
    if crop == "random_resized":
        steps: list[v2.Transform] = [v2.RandomResizedCrop(input_size, scale=(0.4, 1.0), antialias=True)]
    elif crop == "tsn_multiscale":
        steps = [MultiScaleCrop(input_size)]
    elif crop == "ibm_scale_jitter":
        steps = [RandomShortSide(*scale_range), v2.RandomCrop(input_size)]
    else:
        raise ValueError(f"train_transform: unknown crop {crop!r}")
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    return v2.Compose(steps)


def eval_transform(input_size: int, scale_size: int, crops: int,
                   crop_rule: CropRule = "edges") -> v2.Transform:
    """Resize the short side, then 1, 3, 5 or 10 crops placed by `crop_rule` (see `crops.py`).

    The result has a leading crop axis: (crops, T, C, H, W).
    """
    return v2.Compose([v2.Resize(scale_size, antialias=True), SpatialCrops(input_size, crops, crop_rule)])


def plan_train_transform(plan: Plan, flip: bool) -> v2.Transform:
    """`train_transform` with the plan's crop; `flip` is the protocol's unless a label swap
    does the flipping."""
    data = plan.spec.data
    return train_transform(data.input_size, flip, data.train_crop, data.scale_range)


def plan_eval_transform(plan: Plan) -> v2.Transform:
    """`eval_transform` with the protocol's test sizes, crops and crop rule."""
    protocol = plan.protocol
    return eval_transform(protocol.input_size, protocol.scale_size, protocol.crops, protocol.crop_rule)


class SpatialCrops(v2.Transform):
    """The test crops of a clip, stacked: 1 centre crop, or 3, 5 or 10 crops placed by `rule`."""

    def __init__(self, size: int, crops: int, rule: CropRule = "edges"):
        super().__init__()
        self.size = size
        self.crops = crops
        self.rule = rule

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        height, width = video.shape[-2:]
        views = []
        for box in crop_boxes(height, width, self.size, self.crops, self.rule):
            view = video[..., box.top:box.top + self.size, box.left:box.left + self.size]
            views.append(view.flip(-1) if box.mirrored else view)
        return torch.stack(views)


class MultiScaleCrop(v2.Transform):
    """TSN's multi-scale training crop: a crop whose sides are drawn from `multiscale_sizes`
    (scales 1, .875, .75, .66 of the short side, at most one step apart), placed at one of TSN's
    13 fixed positions (`fixed_offsets`), resized to `size` x `size` (bilinear, antialiased, as
    PIL resizes). Sizes and positions are drawn uniformly from the references' lists, with
    torch's generator like every v2 transform."""

    def __init__(self, size: int, scales: tuple[float, ...] = TSN_SCALES, max_distort: int = 1):
        super().__init__()
        self.size = size
        self.scales = scales
        self.max_distort = max_distort

    def draw(self, height: int, width: int) -> tuple[int, int, int, int]:
        """A random (top, left, crop height, crop width) on a height x width frame."""
        sizes = multiscale_sizes(height, width, self.size, self.scales, self.max_distort)
        crop_height, crop_width = sizes[int(torch.randint(len(sizes), ()))]
        positions = fixed_offsets(height, width, crop_height, crop_width, more=True)
        top, left = positions[int(torch.randint(len(positions), ()))]
        return top, left, crop_height, crop_width

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        top, left, height, width = self.draw(*video.shape[-2:])
        return v2.functional.resized_crop(video, top, left, height, width, [self.size, self.size],
                                          antialias=True)


class RandomShortSide(v2.Transform):
    """Resize the short side to a length drawn uniformly from `low`..`high`, both included (IBM's
    ``GroupRandomScale``, ``--scale_range``)."""

    def __init__(self, low: int, high: int):
        super().__init__()
        if not 0 < low <= high:
            raise ValueError(f"RandomShortSide: need 0 < low <= high, got {low}, {high}")
        self.low = low
        self.high = high

    def draw(self) -> int:
        return self.low + int(torch.randint(self.high - self.low + 1, ()))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return v2.functional.resize(video, [self.draw()], antialias=True)


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
