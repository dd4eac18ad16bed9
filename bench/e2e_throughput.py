"""Is the loader the bottleneck? Training throughput (clips/s) of the same network at the same
settings, fed (1) by synthetic uint8 clips already in (pinned) memory and (2) by the real
input path: our loader (`build_loaders`) reading the generated JPEG set (short side 256) with
the machine's CPU workers. Also prints the loader's own rate without training, and on CUDA a
third run with `data.gpu_decode` (nvJPEG).

    python bench/e2e_throughput.py [--workers N] [--batch 16] [--steps 30]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from common import default_device, experiment, header, jpeg_set_summary, make_jpeg_set, repeat, time_steps
from torch.utils.data import DataLoader

from actionbench.core.precision import grad_scaler
from actionbench.data.gpu_decode import input_converter
from actionbench.data.loader import build_loaders
from actionbench.engine.recipe import build_optimizer
from actionbench.engine.train import prepare_model, train_step
from actionbench.models import build_network


def epochs(loader: DataLoader) -> Iterator:
    """Batches epoch after epoch, each epoch drawn as training draws it."""
    epoch = 0
    while True:
        loader.sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def training_rate(plan, batches: Iterator, warmup: int, steps: int, device: torch.device) -> float:
    """Clips per second of the engine's training step fed from `batches`."""
    model = build_network(plan).to(device)
    trained = prepare_model(model, plan.spec.train, device)
    optimizer = build_optimizer(model, plan, device)
    scaler = grad_scaler(device, plan.spec.train.amp)
    to_input = input_converter(plan, device)

    def step(batch) -> None:
        videos, labels = batch
        train_step(trained, to_input(videos), labels.to(device, non_blocking=True), optimizer, scaler,
                   plan.spec.train, device)

    return plan.spec.train.batch_size / time_steps(step, batches, warmup, steps, device)


def loader_rate(batches: Iterator, count: int) -> float:
    next(batches)
    started = time.perf_counter()
    clips = sum(len(next(batches)[1]) for _ in range(count))
    return clips / (time.perf_counter() - started)


def main() -> None:
    on_cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=max((os.cpu_count() or 2) - 1, 1))
    parser.add_argument("--backbone", default="resnet50" if on_cuda else "resnet18")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=224 if on_cuda else 112)
    parser.add_argument("--batch", type=int, default=16 if on_cuda else 4, help="clips per step")
    parser.add_argument("--steps", type=int, default=30 if on_cuda else 6, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5 if on_cuda else 2, help="untimed steps")
    parser.add_argument("--videos", type=int, default=64, help="videos in the generated set")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=on_cuda)
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "actionbench_jpegs")
    args = parser.parse_args()
    device = default_device()
    print(header("e2e_throughput: training fed by the JPEG loader vs by in-memory clips"))
    root = make_jpeg_set(args.root, args.videos, frames=48)
    print(jpeg_set_summary(root))

    def spec(gpu_decode: bool = False):
        return experiment(args.backbone, args.frames, args.size, args.batch, amp="bf16",
                          channels_last=True, compile=args.compile, root=root, workers=args.workers,
                          gpu_decode=gpu_decode)

    print(f"TSM-{args.backbone}, {args.frames}x{args.size}x{args.size}, batch {args.batch}, "
          f"{args.workers} loader workers, {args.warmup} warm-up and {args.steps} timed steps, "
          f"compile={args.compile}\n", flush=True)
    loader, _ = build_loaders(spec(), device=device)
    videos, labels = next(iter(loader))
    synthetic = (videos.pin_memory(), labels.pin_memory()) if on_cuda else (videos, labels)
    rates = {"synthetic in-memory clips": training_rate(spec(), repeat(synthetic), args.warmup,
                                                        args.steps, device)}
    print(f"training, synthetic in-memory clips:  {rates['synthetic in-memory clips']:8.2f} clips/s",
          flush=True)
    rates["JPEG loader"] = training_rate(spec(), epochs(loader), args.warmup, args.steps, device)
    print(f"training, JPEG loader:                {rates['JPEG loader']:8.2f} clips/s", flush=True)
    if on_cuda:
        gpu_loader, _ = build_loaders(spec(gpu_decode=True), device=device)
        rates["JPEG loader, nvJPEG"] = training_rate(spec(gpu_decode=True), epochs(gpu_loader),
                                                     args.warmup, args.steps, device)
        print(f"training, JPEG loader, gpu_decode:    {rates['JPEG loader, nvJPEG']:8.2f} clips/s")
    print(f"loader alone (no training):           {loader_rate(epochs(loader), args.steps):8.2f} clips/s")
    for name, rate in rates.items():
        if name != "synthetic in-memory clips":
            print(f"\n{name} / synthetic: {rate / rates['synthetic in-memory clips']:.2f} "
                  f"(target >= 0.9)", end="")
    print()


if __name__ == "__main__":
    main()
