"""Training-clip loading speed: actionbench's loader against a per-frame PIL loader written the
way the reference repositories (TSN, TSM and their followers) load frames, on the same
generated JPEG set (short side 256), in frames per second per worker.

Reference style, per clip: `Image.open(path).convert("RGB")` for each sampled frame, then
group transforms frame by frame (multi-scale crop with fixed corner offsets and a bilinear
resize, random horizontal flip), the frames stacked into a numpy array, converted to a float
tensor and normalised on the CPU. Ours: one batched torchvision JPEG decode per clip, one
crop-and-resize of the whole uint8 clip (transforms.v2), uint8 out (normalised on the device).

    python bench/data_throughput.py [--workers 1] [--clips 96] [--videos 32]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import experiment, header, jpeg_set_summary, make_jpeg_set
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from actionbench.core.model_input import IMAGENET_MEAN, IMAGENET_STD
from actionbench.data.annotations import read_list
from actionbench.data.loader import build_loaders

SCALES = (1, 0.875, 0.75, 0.66)


class ReferenceStyleClips(Dataset):
    """TSN-style training clips: one random frame per segment, PIL decoding, group transforms."""

    def __init__(self, root: Path, segments: int, size: int):
        self.root = root
        self.records = read_list(root / "train.txt", 400)
        self.segments = segments
        self.size = size

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        record = self.records[index]
        length = record.num_frames // self.segments
        offsets = [segment * length + random.randrange(length) for segment in range(self.segments)]
        images = [Image.open(self.root / record.path / f"img_{offset + 1:05d}.jpg").convert("RGB")
                  for offset in offsets]
        images = self.flip(self.multi_scale_crop(images))
        stacked = np.concatenate([np.array(image) for image in images], axis=2)
        clip = torch.from_numpy(stacked).permute(2, 0, 1).contiguous().float().div(255)
        for channel, (mean, std) in enumerate(zip(IMAGENET_MEAN * self.segments,
                                                  IMAGENET_STD * self.segments)):
            clip[channel].sub_(mean).div_(std)
        return clip, record.label

    def multi_scale_crop(self, images: list[Image.Image]) -> list[Image.Image]:
        width, height = images[0].size
        sizes = [int(min(width, height) * scale) for scale in SCALES]
        pairs = [(w, h) for i, h in enumerate(sizes) for j, w in enumerate(sizes) if abs(i - j) <= 1]
        crop_w, crop_h = random.choice(pairs)
        step_w, step_h = (width - crop_w) // 4, (height - crop_h) // 4
        left, top = random.choice([(0, 0), (4 * step_w, 0), (0, 4 * step_h), (4 * step_w, 4 * step_h),
                                   (2 * step_w, 2 * step_h)])
        box = (left, top, left + crop_w, top + crop_h)
        return [image.crop(box).resize((self.size, self.size), Image.BILINEAR) for image in images]

    @staticmethod
    def flip(images: list[Image.Image]) -> list[Image.Image]:
        if random.random() < 0.5:
            return [image.transpose(Image.FLIP_LEFT_RIGHT) for image in images]
        return images


def epochs(loader: DataLoader):
    while True:
        yield from loader


def frames_per_second(loader: DataLoader, clips: int, frames: int) -> float:
    """Frames per second over `clips` clips (epoch after epoch), after the first batch
    (worker start-up)."""
    iterator = epochs(loader)
    next(iterator)
    done, started = 0, time.perf_counter()
    while done < clips:
        videos, _ = next(iterator)
        done += len(videos)
    return done * frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers for both loaders")
    parser.add_argument("--clips", type=int, default=96, help="clips timed per loader")
    parser.add_argument("--videos", type=int, default=32, help="videos in the generated set")
    parser.add_argument("--frames", type=int, default=8, help="frames per clip")
    parser.add_argument("--size", type=int, default=224, help="crop size")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "actionbench_jpegs")
    args = parser.parse_args()
    print(header("data_throughput: our loader vs a reference-style PIL loader"), flush=True)
    root = make_jpeg_set(args.root, args.videos, frames=48)
    print(jpeg_set_summary(root))
    print(f"clips of {args.frames} frames cropped to {args.size}, batch {args.batch}, "
          f"{args.clips} clips timed per measurement; 0 workers = loading in the main process\n",
          flush=True)
    ratios = []
    for workers in sorted({0, args.workers}):
        spec = experiment("resnet50", args.frames, args.size, args.batch, amp="none",
                          channels_last=False, compile=False, root=root, workers=workers)
        loaders = {
            "reference (PIL, per frame)": DataLoader(
                ReferenceStyleClips(root, args.frames, args.size), batch_size=args.batch, shuffle=True,
                num_workers=workers, drop_last=True, persistent_workers=workers > 0),
            "ours (torchvision.io, uint8)": build_loaders(spec, device=torch.device("cpu"))[0],
        }
        # Alternate the loaders, three rounds, so that changes in the machine's load hit both
        # alike; the best round of each is the one least disturbed by other jobs.
        rates: dict[str, list[float]] = {name: [] for name in loaders}
        for _ in range(3):
            for name, loader in loaders.items():
                rates[name].append(frames_per_second(loader, args.clips, args.frames))
        for name, runs in rates.items():
            print(f"{workers} workers  {name:30s} {max(runs) / max(workers, 1):8.1f} frames/s per "
                  f"worker (runs: {', '.join(f'{rate:.1f}' for rate in runs)} frames/s)")
        ratios.append((workers, max(rates["ours (torchvision.io, uint8)"])
                       / max(rates["reference (PIL, per frame)"])))
    print()
    for workers, ratio in ratios:
        print(f"ours / reference, {workers} workers: {ratio:.2f}x (target >= 2x per worker)")


if __name__ == "__main__":
    main()
