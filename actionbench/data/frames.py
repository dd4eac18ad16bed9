"""A dataset of videos stored as folders of JPEG frames, read with torchvision's decoder."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.io import ImageReadMode, decode_jpeg, read_file

from ..errors import SampleError
from .annotations import VideoRecord
from .sampling import ClipSampler


class FrameFolderDataset(Dataset):
    """Yields (uint8 clip, label).

    Training: one randomly sampled clip, shape (T, C, H, W). Testing: every view of the video,
    shape (clips * crops, T, C, H, W), so evaluation can average scores per video.
    """

    def __init__(self, root: Path, records: list[VideoRecord], template: str,
                 sampler: ClipSampler, transform: Callable[[torch.Tensor], torch.Tensor],
                 train: bool):
        self.root = Path(root)
        self.records = records
        self.template = template
        self.sampler = sampler
        self.transform = transform
        self.train = train

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        record = self.records[index]
        label = -1 if record.label is None else record.label
        if self.train:
            rng = random.Random(int(torch.randint(2**62, (1,))))
            return self.transform(self.load(record, self.sampler.train(record.num_frames, rng))), label
        views = [self.transform(self.load(record, offsets))
                 for offsets in self.sampler.test(record.num_frames)]
        return torch.cat(views), label

    def load(self, record: VideoRecord, offsets: list[int]) -> torch.Tensor:
        """Decode the frames at `offsets` (0-based within the record) as (T, C, H, W) uint8."""
        folder = self.root / record.path
        paths = [folder / self.template.format(record.start + offset) for offset in offsets]
        unique = list(dict.fromkeys(paths))
        decoded = dict(zip(unique, decode_frames(unique)))
        # decode_jpeg returns (H, W, C) memory viewed as (C, H, W): stacked in that layout the
        # clip is channels-last at no cost, the layout torch's fast uint8 resize needs.
        return torch.stack([decoded[path].permute(1, 2, 0) for path in paths]).permute(0, 3, 1, 2)


def frame_problem(root: Path, record: VideoRecord, template: str) -> str | None:
    """Why `record` cannot be read, found without decoding: a missing folder, or a missing
    first or last frame (the list promises more frames than the folder holds, or the file
    names do not follow the template). A few stat calls per video, so that a whole list is
    checked before training starts rather than failing hours in."""
    folder = Path(root) / record.path
    if not folder.is_dir():
        return f"frame folder {folder} not found"
    for number in (record.start, record.start + record.num_frames - 1):
        name = template.format(number)
        if not (folder / name).is_file():
            return (f"frame {name} not found in {folder} (the list gives {record.num_frames} frames "
                    f"from number {record.start}; frame files are named like '{template}')")
    return None


def decode_frames(paths: list[Path]) -> list[torch.Tensor]:
    """One batched decode call; on failure, find and name the file that broke it."""
    data = [read_frame(path) for path in paths]
    try:
        return decode_jpeg(data, mode=ImageReadMode.RGB)
    except RuntimeError:
        for path, payload in zip(paths, data):
            try:
                decode_jpeg(payload, mode=ImageReadMode.RGB)
            except RuntimeError as exc:
                raise SampleError(f"{path}: corrupt JPEG frame ({_decoder_reason(exc)})") from None
        raise


def read_frame(path: Path) -> torch.Tensor:
    try:
        data = read_file(str(path))
    except (RuntimeError, OSError):
        data = None
    if data is None or data.numel() == 0:
        empty = path.is_file() and path.stat().st_size == 0
        raise SampleError(f"{path}: frame file {'is empty (0 bytes)' if empty else 'missing or unreadable'}")
    return data


def _decoder_reason(exc: RuntimeError) -> str:
    """torchvision's message without its C++ source location ('decode_jpeg, file.cpp:171, ')."""
    return re.sub(r"^\w+, \S+:\d+, ", "", str(exc).strip())
