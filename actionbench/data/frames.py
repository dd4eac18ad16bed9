"""A dataset of videos stored as folders of JPEG frames, read with torchvision's decoder."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torchvision.io import ImageReadMode, decode_jpeg, read_file

from ..core.errors import SampleError
from .annotations import VideoRecord
from .clip_dataset import ClipDataset, one_size


class FrameFolderDataset(ClipDataset):
    """Videos as folders of JPEG frames named like `template` (1-based numbers)."""

    def __init__(self, *args, template: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template

    def load(self, record: VideoRecord, offsets: list[int]) -> torch.Tensor:
        folder = self.root / record.path
        paths = [folder / self.template.format(record.start + offset) for offset in offsets]
        unique = list(dict.fromkeys(paths))
        decoded = dict(zip(unique, one_size(decode_frames(unique))))
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
