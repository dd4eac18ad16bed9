"""Latency, throughput and peak memory: eval mode, warm-up, synchronised timing, median.

On CUDA the timed region is bracketed by CUDA events; on the CPU by perf_counter (the CPU
work is synchronous). The median and interquartile range of many repetitions are reported,
because these machines are shared and single timings are noisy.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from ..core.precision import amp_dtype, autocast, to_channels_last
from ..plan.plan import Plan
from .clip import plan_clip


def _timings_ms(model: nn.Module, clip: torch.Tensor, device: torch.device, warmup: int,
                repeats: int, amp: str) -> list[float]:
    times = []
    with torch.no_grad(), autocast(device, amp):
        for _ in range(warmup):
            model(clip)
        for _ in range(repeats):
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(clip)
                end.record()
                torch.cuda.synchronize(device)
                times.append(start.elapsed_time(end))
            else:
                started = time.perf_counter()
                model(clip)
                times.append(1000 * (time.perf_counter() - started))
    return times


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, median, high = statistics.quantiles(values, n=4)
    return low, statistics.median(values), high


def measure_speed(model: nn.Module, plan: Plan, device: torch.device) -> dict:
    """The network as training runs it on `device` (the plan's autocast; on CUDA its
    channels-last weights and cuDNN autotuning), so that `profile` and the records of trained
    runs time the same thing."""
    model.eval()
    amp, dtype = plan.spec.train.amp, amp_dtype(device, plan.spec.train.amp) or torch.float32
    cost = plan.spec.cost
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        if plan.spec.train.channels_last:
            to_channels_last(model)
        torch.cuda.reset_peak_memory_stats(device)
    single = _timings_ms(model, plan_clip(plan).to(device), device, cost.warmup, cost.repeats, amp)
    batch = cost.throughput_batch
    batched = _timings_ms(model, plan_clip(plan, batch).to(device), device, cost.warmup,
                          max(3, cost.repeats // 4), amp)
    low, median, high = _quartiles(single)
    return {
        "latency_ms": median,
        "latency_iqr_ms": high - low,
        "throughput": 1000 * batch / statistics.median(batched),
        "throughput_batch": batch,
        "memory_mb": (torch.cuda.max_memory_allocated(device) / 2**20
                      if device.type == "cuda" else None),
        "cost_device": device_name(device),
        "cost_dtype": str(dtype).removeprefix("torch."),
        "cost_threads": torch.get_num_threads(),
    }


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"
