"""`data.gpu_decode`: training JPEGs decoded on the GPU (nvJPEG through torchvision.io).

The workers only read the sampled frames' files and pass their bytes on (`bytes` go through
the DataLoader's collation as they are); the main process decodes a whole batch in one
`decode_jpeg(..., device="cuda")` call and applies the training transform to each clip on the
GPU. That moves the most CPU-hungry step of the input path off the CPU when the CPU cannot
keep up. Evaluation keeps the CPU path.

A corrupt frame is only seen here, a batch at a time, so under gpu_decode it stops the run
with the advice to rerun without gpu_decode, where the file is named (and `data.on_error`
applies).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torchvision.io import ImageReadMode, decode_jpeg

from ..core.errors import UserError
from ..core.model_input import to_model_input
from ..plan.plan import Plan
from ..plan.schema import DataSpec
from .annotations import VideoRecord
from .frames import FrameFolderDataset, read_frame
from .transforms import apply, plan_train_transform

EncodedBatch = Sequence[Sequence[bytes]]
"""A batch of encoded clips as collated: `batch[t][n]` is frame t of clip n."""


def enabled(data: DataSpec, device: torch.device) -> bool:
    return data.gpu_decode and device.type == "cuda"


def keep_encoded(frames: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The dataset's transform under gpu_decode: none, the transform runs after decoding."""
    return frames


class EncodedFrameFolder(FrameFolderDataset):
    """Training clips as the JPEG bytes of their sampled frames (build it with
    `transform=keep_encoded`)."""

    def load(self, record: VideoRecord, offsets: list[int]) -> tuple[bytes, ...]:
        folder = self.root / record.path
        return tuple(read_frame(folder / self.template.format(record.start + offset)).numpy().tobytes()
                     for offset in offsets)


def decode_clips(batch: EncodedBatch, transform: Callable, device: torch.device) -> torch.Tensor:
    """uint8 clips (N, T, C, H, W) on `device`: one batched decode, then `transform` per clip."""
    frames, clips = len(batch), len(batch[0])
    data = [torch.frombuffer(bytearray(batch[t][n]), dtype=torch.uint8)
            for n in range(clips) for t in range(frames)]
    try:
        decoded = decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
    except RuntimeError as exc:
        raise UserError(f"data.gpu_decode: a training batch could not be decoded on {device} "
                        f"({str(exc).strip().splitlines()[0]}); run with data.gpu_decode: false "
                        f"to have the faulty frame named") from None
    return torch.stack([apply(transform, torch.stack(decoded[n * frames:(n + 1) * frames]))
                        for n in range(clips)])


def input_converter(plan: Plan, device: torch.device) -> Callable:
    """What turns a training batch's videos into the network's input on `device`."""
    if not enabled(plan.spec.data, device):
        return lambda videos: to_model_input(videos, device)
    transform = plan_train_transform(plan, plan.protocol.flip)
    return lambda videos: to_model_input(decode_clips(videos, transform, device), device)
