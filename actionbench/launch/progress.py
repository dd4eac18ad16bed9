"""What a run folder says about a run in progress, read without disturbing it: who holds its
lock, since when, and where its last checkpoint stands. `status` reads these while runs are
writing; every file it reads is replaced atomically by the run, so a read sees a whole file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from ..engine.train import CHECKPOINT_FILE
from ..store.metrics_log import read_metrics
from ..store.run_store import RunStore


@dataclass(frozen=True)
class Position:
    epoch: int
    """Epochs finished."""
    iteration: int
    """Iterations finished in the next epoch."""
    loss: float | None
    """The running training loss of the unfinished epoch, else the last finished epoch's."""


def lock_holder(store: RunStore, run_id: str) -> tuple[str, datetime] | None:
    """Who holds the run's lock ('pid N on HOST', as `core/locks.py` writes it) and since when
    (when it wrote that), or None when nobody does. The lock is only tested (lockf F_TEST),
    never taken: taking it, even for an instant, could make a starting run skip its
    experiment as busy. Must not be called by a process that holds run locks itself (closing
    any descriptor of a lock file drops that process's POSIX lock)."""
    path = store.lock_file(SimpleNamespace(id=run_id))
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        os.lockf(descriptor, os.F_TEST, 0)
        return None
    except OSError:  # EACCES or EAGAIN: another process holds it
        text = os.read(descriptor, 200).decode("utf-8", "replace").strip() or "another process"
        return text, datetime.fromtimestamp(os.fstat(descriptor).st_mtime).astimezone()
    finally:
        os.close(descriptor)


def position(run_dir: Path) -> Position | None:
    """Where the run's checkpoint stands (None before its first one). The checkpoint is
    memory-mapped, so its tensors are not read, and its digest is not checked: `run` checks it
    when it resumes."""
    path = Path(run_dir) / CHECKPOINT_FILE
    if not path.is_file():
        return None
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        epoch, iteration = int(state["epoch"]), int(state.get("iteration", 0))
    except Exception:  # an unreadable checkpoint is `run`'s to report, not status's
        return None
    stats = state.get("epoch_stats")
    if iteration and stats is not None and float(stats[2]) > 0:
        loss = float(stats[0]) / float(stats[2])
    else:
        finished = read_metrics(run_dir)
        loss = finished[-1].get("train_loss") if finished else None
    return Position(epoch, iteration, loss)
