"""TensorBoard event files beside `metrics.jsonl`, so that `tensorboard --logdir runs` shows
every experiment of a matrix as it trains. `metrics.jsonl` stays the source of the reports;
the events are a live view of the same numbers.

Optional: `torch.utils.tensorboard` needs the `tensorboard` package (the `tensorboard` extra
of pyproject.toml, in requirements-dev.txt), which brings grpcio and protobuf; without it no
events are written and nothing else changes.

Each epoch's line is written by a writer of its own, closed at once, so that no thread or open
file outlives the call and a killed run leaves complete files. The writer is opened with
`purge_step` at the epoch: a resumed run repeats the epochs after its checkpoint, and TensorBoard
then drops the points that earlier files hold for them, as `metrics.jsonl` keeps the last line
of an epoch (torch.utils.tensorboard.SummaryWriter, "purge_step").
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)


def write_epoch_events(run_dir: Path, metrics: dict) -> None:
    """One epoch's numbers as scalars at step `metrics['epoch']`, tagged train/... and val/...."""
    writer_class = _summary_writer()
    if writer_class is None:
        return
    step = metrics["epoch"]
    writer = writer_class(log_dir=str(run_dir), purge_step=step)
    try:
        for key, value in metrics.items():
            if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                writer.add_scalar(tag(key), value, step)
    finally:
        writer.close()


def tag(key: str) -> str:
    """'train_loss' -> 'train/loss', 'lr' -> 'train/lr', 'val_loss' -> 'val/loss', 'top1' ->
    'val/top1': TensorBoard groups the charts by what comes before the '/'."""
    if key.startswith(("train_", "val_")):
        return key.replace("_", "/", 1)
    return f"train/{key}" if key in ("lr", "epoch_time_s") else f"val/{key}"


@cache
def _summary_writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.info("tensorboard is not installed: no event files (pip install tensorboard for live curves)")
        return None
    return SummaryWriter
