"""Checkpoints: everything needed to resume (model, optimizer, scheduler, grad scaler, the
random generators of every process, epoch and iteration), written atomically, read with
`weights_only=True` so a checkpoint file can never execute code.

A checkpoint is written at every epoch end, with `train.checkpoint_every` every N
iterations, and when a stop signal arrives (`core/signals.py`); `iteration` counts the
iterations already done in epoch `epoch` (0 at an epoch boundary), so a run resumed mid-epoch
skips exactly the batches it has trained on.

A checkpoint carries the sha256 of its own content (every tensor's bytes, dtype and shape,
and every other value, in order), checked when it is read: a file damaged on disk (a zeroed
block, flipped bits) loads without complaint from torch (which does not check the zip's CRCs)
and would otherwise resume a run from corrupted weights.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..core.atomic import torch_save
from ..core.errors import UserError
from ..core.tensor_files import read_tensors

CHECKPOINT_KEYS = frozenset({"model", "optimizer", "scheduler", "epoch", "metrics"})
DIGEST_KEY = "sha256"
HINT = "delete it to start the run over"
DAMAGED_HINT = ("move it aside (the run then starts over, or resumes from a copy you trust) or rerun "
                "with --force")
log = logging.getLogger(__name__)


class DamagedCheckpoint(UserError):
    """The checkpoint's content does not match the digest written with it."""


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
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
             "epoch": progress.epoch, "iteration": progress.iteration,
             "metrics": progress.metrics, "epoch_stats": progress.epoch_stats, "rng": progress.rng}
    torch_save(path, {**state, DIGEST_KEY: content_digest(state)})


def read_checkpoint(path: Path) -> dict | None:
    """The checkpoint's content, checked to be ours and whole; None when there is no
    checkpoint. One written before checkpoints had a digest is trusted, with a warning."""
    if not path.exists():
        return None
    state = read_tensors(path, HINT)
    if not isinstance(state, dict) or not CHECKPOINT_KEYS <= state.keys():
        raise UserError(f"{path}: not an actionbench checkpoint (expected the keys "
                        f"{', '.join(sorted(CHECKPOINT_KEYS))}); {HINT}")
    digest = state.pop(DIGEST_KEY, None)
    if digest is None:
        log.warning("%s has no digest (written by an earlier actionbench): resuming from it unchecked",
                    path)
    elif digest != content_digest(state):
        raise DamagedCheckpoint(f"{path}: damaged: its content does not match the sha256 written with "
                                f"it, so the weights cannot be trusted; {DAMAGED_HINT}")
    return state


def content_digest(state: Any) -> str:
    """sha256 over `state` as torch.save stores it and torch.load returns it: tensors by dtype,
    shape and bytes, containers in order, other values by type and repr."""
    digest = hashlib.sha256()
    _feed(digest, state)
    return digest.hexdigest()


def _feed(digest, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}".encode())
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__[0]}{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(f"{type(value).__name__}:{value!r};".encode())


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
