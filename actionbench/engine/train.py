"""The training loop: SGD with momentum, per-iteration schedule, gradient clipping,
per-epoch evaluation, JSON-lines metrics and a checkpoint after every epoch."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data.normalize import to_model_input
from ..schema import ExperimentSpec
from .checkpoint import load_checkpoint, save_checkpoint
from .evaluate import autocast, evaluate
from .schedule import build_scheduler

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the run is recorded as failed with this reason."""


def build_optimizer(model: nn.Module, spec: ExperimentSpec) -> torch.optim.SGD:
    """SGD with weight decay on weights only (no decay on BN parameters and biases)."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.ndim > 1 else no_decay).append(param)
    return torch.optim.SGD([{"params": decay, "weight_decay": spec.train.weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}],
                           lr=spec.train.lr, momentum=spec.train.momentum)


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                    scheduler, device: torch.device, spec: ExperimentSpec, epoch: int) -> dict:
    model.train()
    criterion = nn.CrossEntropyLoss()
    total_loss, correct, seen = 0.0, 0, 0
    started = time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{spec.train.epochs}", leave=False, disable=None)
    for videos, labels in bar:
        inputs = to_model_input(videos, device)
        labels = labels.to(device, non_blocking=True)
        with autocast(device, spec.train.amp):
            logits = model(inputs)
            loss = criterion(logits.float(), labels)
        if not math.isfinite(loss.item()):
            raise TrainingDiverged(f"loss became {loss.item()} in epoch {epoch + 1}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if spec.train.clip_grad:
            nn.utils.clip_grad_norm_(model.parameters(), spec.train.clip_grad)
        optimizer.step()
        scheduler.step()
        total_loss += loss.item() * len(labels)
        correct += (logits.argmax(dim=1) == labels).sum().item()
        seen += len(labels)
        bar.set_postfix(loss=f"{total_loss / seen:.3f}")
    return {"train_loss": total_loss / seen, "train_top1": 100 * correct / seen,
            "lr": optimizer.param_groups[0]["lr"], "epoch_time_s": time.perf_counter() - started}


def fit(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader, spec: ExperimentSpec,
        device: torch.device, run_dir: Path, on_epoch: Callable[[dict], None]) -> dict:
    """Train for spec.train.epochs (resuming from run_dir's checkpoint) and return the last
    evaluation metrics. `on_epoch` receives each epoch's metrics as they are produced."""
    optimizer = build_optimizer(model, spec)
    scheduler = build_scheduler(optimizer, spec.train, len(train_loader))
    checkpoint_path = run_dir / "checkpoint.pt"
    start_epoch, metrics = load_checkpoint(checkpoint_path, model, optimizer, scheduler)
    if start_epoch:
        log.info("resuming %s from epoch %d", run_dir.name, start_epoch)
    for epoch in range(start_epoch, spec.train.epochs):
        train_loader.generator.manual_seed(spec.train.seed + epoch)
        torch.manual_seed(spec.train.seed + epoch)
        metrics = train_one_epoch(model, train_loader, optimizer, scheduler, device, spec, epoch)
        metrics.update(evaluate(model, val_loader, device, spec.train.amp))
        metrics["epoch"] = epoch + 1
        on_epoch(metrics)
        save_checkpoint(checkpoint_path, model, optimizer, scheduler, epoch + 1, metrics)
        log.info("epoch %d/%d: train loss %.3f, val top-1 %.1f%%", epoch + 1, spec.train.epochs,
                 metrics["train_loss"], metrics["top1"])
    return metrics
