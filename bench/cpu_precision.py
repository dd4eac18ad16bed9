"""Does bf16 autocast or channels-last speed up training on this CPU? One training step of every
smoke experiment (`experiments/smoke/`, at its own clip size and batch) timed three ways, side by
side in one process: float32 (what CPU runs use), bf16 autocast on the CPU, and float32 with
channels-last weights and clips. Prints each step's median time and the speed-ups over float32.

The answer decides whether the smoke recipe should use them: `core/precision.py` applies both on
CUDA only, because on CPUs without native bf16 instructions (no AVX-512 BF16 or AMX) bf16
convolutions fall back to emulation, and because CPU float32 runs are bit-reproducible.

    python bench/cpu_precision.py [--steps 6] [--only r2plus1d s3d]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch
from common import header
from torch import nn

from actionbench.config import load_plans
from actionbench.models import build_network

SMOKE = "experiments/smoke"
FORMATS = {4: torch.channels_last, 5: torch.channels_last_3d}


def to_format(tensor: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return tensor.contiguous(memory_format=FORMATS[tensor.ndim]) if channels_last else tensor.contiguous()


def step_time(model: nn.Module, clips: torch.Tensor, labels: torch.Tensor, *, bf16: bool,
              channels_last: bool, steps: int) -> float:
    """Median seconds of one SGD step after two untimed ones."""
    for param in model.parameters():
        if param.ndim in FORMATS:
            param.data = to_format(param.data, channels_last)
    clips = to_format(clips, channels_last) if clips.ndim in FORMATS else clips
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    precision = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    times = []
    for index in range(steps + 2):
        started = time.perf_counter()
        with precision:
            loss = nn.functional.cross_entropy(model(clips), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index >= 2:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--only", nargs="*", default=(), help="methods to time (default: all)")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(header("training step on the CPU: float32 vs bf16 autocast vs channels-last"))
    print(f"CPU kernels: {torch.backends.cpu.get_cpu_capability()}; native bf16: "
          f"{torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()}\n")
    print("| method | clip | batch | float32 ms | bf16 ms | bf16 speed-up | channels-last ms | speed-up |")
    print("|:--|:--|--:|--:|--:|--:|--:|--:|")
    for plan in load_plans([SMOKE]):
        if args.only and plan.method.name not in args.only:
            continue
        data, batch = plan.spec.data, plan.spec.train.batch_size
        shape = (batch, 3, plan.input_frames, data.input_size, data.input_size)
        clips, labels = torch.randn(shape), torch.randint(0, plan.num_classes, (batch,))
        timed = {}
        for label, bf16, channels_last in (("fp32", False, False), ("bf16", True, False),
                                           ("cl", False, True)):
            torch.manual_seed(0)
            model = build_network(plan).train()
            timed[label] = step_time(model, clips, labels, bf16=bf16, channels_last=channels_last,
                                     steps=args.steps)
        clip = f"{plan.input_frames}x{data.input_size}x{data.input_size}"
        fp32, bf16, channels_last = (timed[label] for label in ("fp32", "bf16", "cl"))
        print(f"| {plan.method.name} | {clip} | {batch} | {fp32 * 1e3:.0f} | {bf16 * 1e3:.0f} "
              f"| {fp32 / bf16:.2f} | {channels_last * 1e3:.0f} | {fp32 / channels_last:.2f} |", flush=True)


if __name__ == "__main__":
    main()
