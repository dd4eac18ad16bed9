"""What, besides the spec and the package versions (`provenance.py`), decides a run's numbers:
the seed, the numeric settings and the hardware. Stored in every record so that two records
that disagree can be told apart by their settings before anyone suspects the code.

On the CPU with the same versions, the same seed and thread count give bit-identical weights
and metrics (README, "Reports"). On a GPU, cuDNN's autotuner (`cudnn_benchmark`, on for
training) and the atomic additions in the backward of many pooling, padding and sampling
kernels make two runs differ in the last bits, which training amplifies
(pytorch/pytorch@03d697c:docs/source/notes/randomness.rst).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch
from pydantic import BaseModel

from ..core.precision import amp_dtype


class Reproducibility(BaseModel):
    seed: int | None = None
    """`train.seed`: every random draw of the run derives from it (engine/rng.py, data/samplers.py)."""
    device_name: str | None = None
    """The GPU model, or the CPU model from /proc/cpuinfo."""
    cpu_capability: str | None = None
    """The instruction set torch's CPU kernels dispatch to (AVX2, AVX512, ...): the same model of
    processor name can run other kernels, whose float sums round differently, so CPU runs are
    bit-identical only at the same capability (`ATEN_CPU_CAPABILITY` lowers it)."""
    threads: int | None = None
    """torch's intra-op threads: CPU reductions split by thread, so their float sums depend on it."""
    autocast: str = "float32"
    """The training and evaluation precision on this device (`train.amp` applies on CUDA only)."""
    float32_matmul_precision: str | None = None
    deterministic_algorithms: bool | None = None
    cudnn_benchmark: bool | None = None
    """The CUDA settings below are None on the CPU, where they have no effect."""
    cudnn_deterministic: bool | None = None
    tf32_matmul: bool | None = None
    tf32_cudnn: bool | None = None
    cudnn_version: int | None = None
    cublas_workspace_config: str | None = None


def current_settings(seed: int | None, device: str, amp: str = "none") -> Reproducibility:
    """The settings in force now, for a run on `device` with `train.amp`: call it when the run
    ends, after training has set what it sets (cuDNN's autotuner)."""
    target = torch.device(device)
    dtype = amp_dtype(target, amp)
    settings = dict(seed=seed, threads=torch.get_num_threads(),
                    autocast=str(dtype).removeprefix("torch.") if dtype else "float32",
                    float32_matmul_precision=torch.get_float32_matmul_precision(),
                    deterministic_algorithms=torch.are_deterministic_algorithms_enabled(),
                    cpu_capability=torch.backends.cpu.get_cpu_capability())
    if target.type != "cuda":
        return Reproducibility(device_name=_cpu_model(), **settings)
    return Reproducibility(
        device_name=torch.cuda.get_device_name(target), cudnn_benchmark=torch.backends.cudnn.benchmark,
        cudnn_deterministic=torch.backends.cudnn.deterministic,
        tf32_matmul=torch.backends.cuda.matmul.allow_tf32, tf32_cudnn=torch.backends.cudnn.allow_tf32,
        cudnn_version=torch.backends.cudnn.version(),
        cublas_workspace_config=os.environ.get("CUBLAS_WORKSPACE_CONFIG"), **settings)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
