"""Per-epoch checkpoints: everything needed to resume, written atomically, read with
`weights_only=True` so a checkpoint file can never execute code."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..atomic import torch_save
from ..errors import UserError


def save_checkpoint(path: Path, model: nn.Module, optimizer, scheduler, epoch: int,
                    metrics: dict) -> None:
    torch_save(path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict(), "epoch": epoch, "metrics": metrics})


def load_checkpoint(path: Path, model: nn.Module, optimizer, scheduler) -> tuple[int, dict]:
    """(epochs already done, their last metrics); (0, {}) when there is no checkpoint."""
    if not path.exists():
        return 0, {}
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"{path}: cannot load the checkpoint ({exc}); delete it to start over") from None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return state["epoch"], state["metrics"]
