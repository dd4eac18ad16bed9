"""What every dataset of videos yields, whatever stores the frames: a clip sampled for
training, or every test view of a video.

Subclasses say only where frames come from (`load`): JPEG frame folders (`frames.py`), video
files (`videos.py`), encoded bytes for decoding on the GPU (`gpu_decode.py`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as F

from .annotations import VideoRecord
from .sampling import ClipSampler


class ClipDataset(Dataset):
    """Yields (uint8 clip, label).

    Training: one randomly sampled clip, shape (T, C, H, W). Testing: every view of the video,
    shape (clips * crops, T, C, H, W), so evaluation can average scores per video.
    """

    def __init__(self, root: Path, records: list[VideoRecord], sampler: ClipSampler,
                 transform: Callable[[torch.Tensor], torch.Tensor], train: bool):
        self.root = Path(root)
        self.records = records
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
        """The frames at `offsets` (0-based within the record) as (T, C, H, W) uint8."""
        raise NotImplementedError


def one_size(frames: list[torch.Tensor]) -> list[torch.Tensor]:
    """`frames` (C, H, W), those of another size than the first resized to it (antialiased):
    a re-encoded or spliced video can change resolution between frames, and a clip's frames
    are stacked into one tensor."""
    size = frames[0].shape[-2:]
    return [frame if frame.shape[-2:] == size else F.resize(frame, list(size), antialias=True)
            for frame in frames]
