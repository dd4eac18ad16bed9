"""Checkpoints: everything needed to resume (model, optimizer, scheduler, grad scaler, the
random generators of every process, epoch and iteration), written atomically, read with
`weights_only=True` so a checkpoint file can never execute code.

A checkpoint is written at every epoch end and, with `train.checkpoint_every`, every N
iterations; `iteration` counts the iterations already done in epoch `epoch` (0 at an epoch
boundary), so a run resumed mid-epoch skips exactly the batches it has trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..core.atomic import torch_save
from ..core.errors import UserError
from ..core.tensor_files import read_tensors

CHECKPOINT_KEYS = frozenset({"model", "optimizer", "scheduler", "epoch", "metrics"})
HINT = "delete it to start the run over"


@dataclass
class Progress:
    """Where training stands: what a checkpoint records beside the weights."""

    epoch: int = 0
    """Epochs finished."""
    iteration: int = 0
    """Iterations finished in epoch `epoch` (0-based), 0 at an epoch boundary."""
    metrics: dict = field(default_factory=dict)
    """The last finished epoch's metrics."""
    epoch_stats: torch.Tensor | None = None
    """The unfinished epoch's running sums (loss, correct, clips), over all processes."""
    rng: list[dict] | None = None
    """Every process's generator states, in rank order."""


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler,
                    scaler: torch.amp.GradScaler, progress: Progress) -> None:
    torch_save(path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                      "epoch": progress.epoch, "iteration": progress.iteration,
                      "metrics": progress.metrics, "epoch_stats": progress.epoch_stats,
                      "rng": progress.rng})


def read_checkpoint(path: Path) -> dict | None:
    """The checkpoint's content, checked to be ours; None when there is no checkpoint."""
    if not path.exists():
        return None
    state = read_tensors(path, HINT)
    if not isinstance(state, dict) or not CHECKPOINT_KEYS <= state.keys():
        raise UserError(f"{path}: not an actionbench checkpoint (expected the keys "
                        f"{', '.join(sorted(CHECKPOINT_KEYS))}); {HINT}")
    return state


def restore_checkpoint(path: Path, state: dict, model: nn.Module, optimizer: torch.optim.Optimizer,
                       scheduler, scaler: torch.amp.GradScaler) -> Progress:
    """Load `state` (read from `path`) into the training objects. Checkpoints from before the
    scaler, RNG and iteration entries resume at their epoch boundary."""
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
    except (RuntimeError, ValueError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise UserError(f"{path}: does not fit this experiment's model ({reason}); {HINT}") from None
    return Progress(state["epoch"], state.get("iteration", 0), state["metrics"],
                    state.get("epoch_stats"), state.get("rng"))
