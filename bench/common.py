"""Shared parts of the throughput benchmarks: the header every output starts with (command,
device, versions), a generated JPEG frame set, experiment specs and timing.

The benchmarks compare things measured side by side in one run, on one machine, so that the
ratios they print do not depend on a second machine or another day's load.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.io import encode_jpeg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a checkout, installed or not

from actionbench.config import resolve  # noqa: E402
from actionbench.data.catalog import get_dataset  # noqa: E402
from actionbench.plan.plan import Plan  # noqa: E402
from actionbench.store.provenance import package_versions  # noqa: E402

DATASET = "kinetics400"
"""The catalog entry the generated set poses as: frame folders named img_00001.jpg, flips."""


def header(title: str) -> str:
    """Command, device, versions: what a reader needs to rerun or compare the figures."""
    device = (torch.cuda.get_device_name() if torch.cuda.is_available()
              else f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
                   f"(no GPU)")
    versions = ", ".join(f"{name} {version}" for name, version in package_versions().items())
    env = "".join(f"{name}={os.environ[name]} " for name in ("OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES")
                  if name in os.environ)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return "\n".join([f"# {title}", f"$ {env}python {shlex.join(sys.argv)}", f"device: {device}",
                      f"torch threads: {torch.get_num_threads()}; load average (1, 5, 15 min) at start: "
                      f"{load} (other jobs share this machine when it exceeds its core count)",
                      f"versions: {versions}", ""])


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_jpeg_set(root: Path, videos: int, frames: int, height: int = 256, width: int = 340,
                  quality: int = 90) -> Path:
    """`videos` frame folders of `frames` JPEGs at `height` x `width` (short side 256 as the
    reference repositories extract Kinetics and Something-Something), with train and val
    lists, in a folder of `root` named after the set's size. Frames are smooth colour fields
    with moving texture and noise, so JPEG sizes are like those of real frames rather than of
    flat or pure-noise images. Reused when present."""
    root = root / f"{videos}x{frames}x{height}x{width}_q{quality}"
    list_path = root / "train.txt"
    if list_path.exists():
        return root
    generator = torch.Generator().manual_seed(0)
    classes = get_dataset(DATASET).num_classes
    lines = []
    for video in range(videos):
        folder = root / f"video_{video:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        field = torch.rand(3, 6, 8, generator=generator) * 255
        background = F.interpolate(field[None], size=(height, width), mode="bicubic",
                                   align_corners=False)[0]
        texture = torch.rand(3, height // 4, width // 4, generator=generator) * 80 - 40
        for index in range(frames):
            moved = torch.roll(F.interpolate(texture[None], size=(height, width), mode="nearest")[0],
                               shifts=(index * 3, index * 5), dims=(1, 2))
            noise = torch.randn(3, height, width, generator=generator) * 6
            image = (background + moved + noise).clamp(0, 255).to(torch.uint8)
            (folder / f"img_{index + 1:05d}.jpg").write_bytes(encode_jpeg(image, quality).numpy().tobytes())
        lines.append(f"{folder.name} {frames} {video % classes}\n")
    (root / "val.txt").write_text("".join(lines))
    list_path.write_text("".join(lines))
    return root


def jpeg_set_summary(root: Path) -> str:
    files = sorted(root.rglob("*.jpg"))
    mean_kb = sum(path.stat().st_size for path in files) / len(files) / 1024
    return f"JPEG set: {root} ({len(files)} frames, mean {mean_kb:.1f} KB per frame)"


def experiment(backbone: str, frames: int, size: int, batch: int, *, amp: str, channels_last: bool,
               compile: bool, root: Path | None = None, workers: int = 0,
               gpu_decode: bool = False) -> Plan:
    """TSM on the generated set (or without data, for model-only timing), at given settings."""
    return resolve({
        "name": "bench",
        "model": {"method": "tsm", "backbone": backbone},
        "data": {"dataset": DATASET, "root": str(root) if root else None, "frames": frames,
                 "input_size": size, "workers": workers, "gpu_decode": gpu_decode},
        "train": {"batch_size": batch, "lr": 0.01, "amp": amp, "channels_last": channels_last,
                  "compile": compile, "dropout": 0.5, "clip_grad": 20},
    }, "bench")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[object], object], batches: Iterable, warmup: int, steps: int,
               device: torch.device) -> float:
    """Seconds per step: `warmup` untimed steps (compilation, cuDNN autotuning, worker start),
    then `steps` timed ones, with the device synchronised at both ends."""
    iterator = iter(batches)
    for _ in range(warmup):
        step(next(iterator))
    synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step(next(iterator))
    synchronize(device)
    return (time.perf_counter() - started) / steps


def repeat(batch: object) -> Iterable[object]:
    while True:
        yield batch
