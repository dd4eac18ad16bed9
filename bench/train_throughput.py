"""Training speed of TSM-ResNet-50 at 8x224x224, in clips per second, three ways measured side
by side on synthetic in-memory inputs (the network alone; e2e_throughput.py adds the loader):

(a) the reference repositories' style: float32, eager, NCHW, torch.optim.SGD, clips
    normalised on the host and copied to the device as float32, `loss.item()` every step;
(b) ours at its best settings, through the engine's own `train_step`: bf16 autocast,
    channels-last, fused SGD and torch.compile on CUDA, uint8 clips normalised on the device;
(c) the ceiling: torchvision's ResNet-50 image classifier at (b)'s settings, trained on as many
    frames per step (batch x frames images): TSM without its temporal shift and consensus.

It prints b/a (what the engine gains over the reference code) and b/c (how close TSM comes to
plain image training). On a CPU it runs at a small size (112 px, batch 2) and prints the same
lines; mixed precision, channels-last and compile are CUDA settings, so b/a is near 1 there.

    python bench/train_throughput.py [--batch 16] [--steps 20] [--no-compile]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc

import torch
from common import default_device, experiment, header, repeat, synchronize, time_steps
from torch import nn
from torchvision.models import get_model

from actionbench.core.model_input import IMAGENET_MEAN, IMAGENET_STD, to_model_input
from actionbench.core.precision import grad_scaler
from actionbench.engine.recipe import build_optimizer
from actionbench.engine.train import prepare_model, train_step
from actionbench.models import build_network


def reference_step(model: nn.Module, optimizer: torch.optim.Optimizer, device: torch.device):
    """The reference training loop's body (TSM's main.py `train`, minus its bookkeeping)."""
    def step(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        clips, labels = batch
        output = model(clips.to(device))
        loss = nn.functional.cross_entropy(output, labels.to(device))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 20)
        optimizer.step()
        loss.item()
    return step


def engine_step(model: nn.Module, plan, device: torch.device, as_images: bool = False):
    """Our `train_step` on uint8 batches, at `plan`'s settings; `as_images` feeds (N, C, H, W)."""
    trained = prepare_model(model, plan.spec.train, device)
    optimizer = build_optimizer(model, plan, device)
    scaler = grad_scaler(device, plan.spec.train.amp)

    def step(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        videos, labels = batch
        inputs = to_model_input(videos, device)
        train_step(trained, inputs.squeeze(2) if as_images else inputs, labels.to(device, non_blocking=True),
                   optimizer, scaler, plan.spec.train, device)
    return step


def host_batch(shape: tuple[int, ...], classes: int, device: torch.device, normalised: bool = False):
    """A random uint8 batch (..., T, C, H, W) in pinned memory; `normalised`: as the reference
    code feeds it, float32 normalised on the host, (N, C, T, H, W)."""
    generator = torch.Generator().manual_seed(0)
    clips = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
    if normalised:
        mean, std = (torch.tensor(values).view(3, 1, 1) for values in (IMAGENET_MEAN, IMAGENET_STD))
        clips = ((clips.float() / 255 - mean) / std).transpose(1, 2).contiguous()
    labels = torch.randint(0, classes, (shape[0],), generator=generator)
    if device.type == "cuda":
        clips, labels = clips.pin_memory(), labels.pin_memory()
    return clips, labels


def measure(name: str, step, batch, warmup: int, steps: int, device: torch.device, clips: int) -> float:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    rate = clips / time_steps(step, repeat(batch), warmup, steps, device)
    memory = (f", peak memory {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"
              if device.type == "cuda" else "")
    print(f"{name:62s} {rate:8.2f} clips/s{memory}", flush=True)
    synchronize(device)
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return rate


def main() -> None:
    on_cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=224 if on_cuda else 112)
    parser.add_argument("--batch", type=int, default=16 if on_cuda else 2, help="clips per step")
    parser.add_argument("--steps", type=int, default=20 if on_cuda else 3, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5 if on_cuda else 1, help="untimed steps")
    parser.add_argument("--amp", default="bf16", choices=["none", "bf16", "fp16"], help="ours")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=on_cuda, help="ours")
    args = parser.parse_args()
    device = default_device()
    print(header("train_throughput: TSM training, reference style vs ours vs image ceiling"))
    settings = dict(amp=args.amp, channels_last=True, compile=args.compile)
    ours = experiment(args.backbone, args.frames, args.size, args.batch, **settings)
    reference = experiment(args.backbone, args.frames, args.size, args.batch, amp="none",
                           channels_last=False, compile=False)
    classes = ours.num_classes
    clip_shape = (args.batch, args.frames, 3, args.size, args.size)
    print(f"TSM-{args.backbone}, {args.frames}x{args.size}x{args.size}, batch {args.batch} clips "
          f"({args.batch * args.frames} frames) per step, {classes} classes; {args.warmup} warm-up and "
          f"{args.steps} timed steps; ours: amp={args.amp}, channels_last (CUDA), "
          f"compile={args.compile}, fused SGD (CUDA)\n", flush=True)

    model = build_network(reference).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    a = measure("(a) reference style: fp32, eager, NCHW, float input",
                reference_step(model, optimizer, device),
                host_batch(clip_shape, classes, device, normalised=True), args.warmup, args.steps,
                device, args.batch)
    del model, optimizer
    precision = args.amp if on_cuda else "fp32 (amp is CUDA-only)"
    b = measure(f"(b) ours: {precision}, compile={args.compile}",
                engine_step(build_network(ours).to(device), ours, device),
                host_batch(clip_shape, classes, device), args.warmup, args.steps, device, args.batch)
    images = args.batch * args.frames
    # torchvision's image ResNet keeps its classifier at `fc`, where TSM's is `head.fc`
    image_model = dataclasses.replace(ours, method=dataclasses.replace(ours.method, classifier="fc"))
    c = measure(f"(c) ceiling: torchvision {args.backbone}, {images} images/step, as (b)",
                engine_step(get_model(args.backbone, num_classes=classes).to(device), image_model, device,
                            as_images=True),
                host_batch((images, 1, 3, args.size, args.size), classes, device), args.warmup,
                args.steps, device, args.batch)
    print(f"\nb/a = {b / a:.2f} (target >= 3 on an H100/H200)")
    print(f"b/c = {b / c:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
