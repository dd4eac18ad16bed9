"""Several processes: `torchrun --nproc_per_node=N benchmark.py run ...`.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; `session` turns them into a process group
(NCCL on GPUs, gloo on CPUs) and the device of this process. Without torchrun everything
here degrades to one process: the helpers return rank 0 of 1 and communicate nothing, so the
engine has one code path.

Who does what: every process trains on its share of each batch (DistributedDataParallel
averages the gradients, see `engine/parallel.py`) and evaluates its share of the videos;
rank 0 alone writes checkpoints, metrics, records and logs. These helpers are neutral: the
data, engine and run-store layers all ask them who they are.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.distributed as dist

from .errors import UserError


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def launched_processes() -> int:
    """How many processes torchrun started (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@contextmanager
def session(device: torch.device) -> Iterator[torch.device]:
    """Join the process group when torchrun started several processes; yields this process's
    device (`cuda:LOCAL_RANK` when `device` is CUDA, else the CPU)."""
    if launched_processes() == 1:
        yield device
        return
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    if not is_main():
        logging.getLogger("actionbench").setLevel(logging.WARNING)
    try:
        yield device
    finally:
        dist.destroy_process_group()


def per_process_batch(batch_size: int) -> int:
    """The share of `train.batch_size` (a global batch) that each process loads."""
    processes = world_size()
    if batch_size % processes:
        raise UserError(f"train.batch_size: {batch_size} clips cannot be split evenly between "
                        f"{processes} processes; use a multiple of {processes}")
    return batch_size // processes


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The elementwise sum over processes (in place; the tensor itself with one process)."""
    if world_size() > 1:
        dist.all_reduce(tensor)
    return tensor


def all_gather(obj: Any) -> list[Any]:
    """Every process's `obj`, in rank order (picklable objects)."""
    if world_size() == 1:
        return [obj]
    gathered: list[Any] = [None] * world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast(obj: Any) -> Any:
    """Rank 0's `obj` on every process."""
    if world_size() == 1:
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()
