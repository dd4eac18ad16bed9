"""The training loop: SGD with momentum, per-iteration schedule, mixed precision, gradient
clipping, per-epoch evaluation, JSON-lines metrics and checkpoints (every epoch, and every
`train.checkpoint_every` iterations), on one process or several (DistributedDataParallel).

A resumed run continues exactly where its checkpoint left off: the epoch's sample order comes
from (seed, epoch) and skips the batches already trained on, each sample's augmentation from
its own seed (`data/samplers.py`), and the remaining random draws (dropout, GPU-side
augmentation) from the generator states stored in the checkpoint. On the CPU a resumed run
ends with the same weights and metrics as an uninterrupted one.
"""

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

from ..core import distributed, signals
from ..core.precision import autocast, grad_scaler, to_channels_last
from ..plan.plan import Plan
from ..plan.schema import TrainSpec
from . import rng
from .checkpoint import Progress, read_checkpoint, restore_checkpoint, save_checkpoint
from .evaluate import evaluate
from .parallel import wrap
from .recipe import apply_partial_bn, build_optimizer
from .schedule import build_scheduler

log = logging.getLogger(__name__)

ToInput = Callable[[object], torch.Tensor]
"""A training batch's videos -> the network's input on the device."""

CHECKPOINT_FILE = "checkpoint.pt"
LOG_EVERY = 20
"""Iterations between reads of the running loss: the progress bar and the divergence check
wait for the device only this often, so the CPU keeps queueing work ahead of the GPU."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the run is recorded as failed with this reason."""


class TrainingInterrupted(Exception):
    """A stop signal (`core/signals.py`) ended training at an iteration boundary, after a
    checkpoint; the run is unfinished, not failed, and `run` again resumes it."""

    def __init__(self, signum: int, where: str):
        super().__init__(f"stopped by {signals.signal_name(signum)} {where}")
        self.signum, self.where = signum, where


def agreed_stop() -> int | None:
    """The stop signal, if any process of the run received one; every process gets the same
    answer, so that all of them stop at the same boundary (a collective with several)."""
    signum = signals.stop_requested()
    if distributed.world_size() == 1:
        return signum
    votes = torch.tensor([signum == wanted for wanted in signals.STOP_SIGNALS], dtype=torch.float32,
                         device="cuda" if torch.distributed.get_backend() == "nccl" else "cpu")
    votes = distributed.all_reduce_sum(votes).cpu()
    # SIGTERM and SIGUSR1 (checkpoint and requeue) win over SIGINT when processes disagree.
    for index in (1, 2, 0):
        if votes[index] > 0:
            return signals.STOP_SIGNALS[index]
    return None


def prepare_model(model: nn.Module, train: TrainSpec, device: torch.device) -> nn.Module:
    """The module that trains: `model` (already on `device`) with partial BN, channels-last,
    DistributedDataParallel and torch.compile as configured. `model` stays the bare network
    that checkpoints and evaluation use; both share the parameters."""
    if train.partial_bn:
        apply_partial_bn(model)
    if train.channels_last and device.type == "cuda":
        to_channels_last(model)
    trained = wrap(model, device, train.sync_bn)
    return torch.compile(trained) if train.compile else trained


def train_step(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor,
               optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
               train: TrainSpec, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step; returns (loss, logits), detached, without waiting for the device."""
    with autocast(device, train.amp):
        logits = model(inputs)
        loss = nn.functional.cross_entropy(logits.float(), labels)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    if train.clip_grad:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), train.clip_grad)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach(), logits.detach()


def _epoch_totals(stats: torch.Tensor, epoch: int, iteration: int) -> torch.Tensor:
    """(loss sum, correct, clips) over all processes, on the CPU; stops a diverged run."""
    totals = distributed.all_reduce_sum(stats.clone()).cpu()
    if not math.isfinite(totals[0]):
        raise TrainingDiverged(f"loss became {totals[0].item()} in epoch {epoch + 1} "
                               f"(by iteration {iteration})")
    return totals


def _check_weights(model: nn.Module, epoch: int) -> None:
    """Stop before a checkpoint replaces the last good one with broken weights: a step can
    overflow the weights while the loss it reported was still finite."""
    tensors = [value for value in model.state_dict().values() if value.is_floating_point()]
    if not torch.stack([torch.isfinite(value).all() for value in tensors]).all():
        raise TrainingDiverged(f"the weights became NaN or infinite in epoch {epoch}")


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                    scheduler, device: torch.device, train: TrainSpec, epoch: int,
                    to_input: ToInput, *, scaler: torch.amp.GradScaler | None = None,
                    start: Progress | None = None,
                    on_checkpoint: Callable[[int, torch.Tensor], None] | None = None) -> dict:
    """One epoch, or its rest when `start` (a mid-epoch checkpoint) says how far it got.
    `on_checkpoint(iteration, totals)` is called every `train.checkpoint_every` iterations,
    and before `TrainingInterrupted` is raised when a stop signal has arrived: one process
    looks at every iteration boundary, several agree every LOG_EVERY iterations (where they
    synchronise anyway)."""
    model.train()
    if train.partial_bn:
        apply_partial_bn(model)
    scaler = scaler or grad_scaler(device, "none")
    every = train.checkpoint_every
    iteration = start.iteration if start else 0
    total = iteration + len(loader)
    stats = torch.zeros(3, dtype=torch.float64, device=device)
    if start is not None and start.epoch_stats is not None and distributed.is_main():
        stats += start.epoch_stats.to(device)
    started = time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{train.epochs}", initial=iteration, total=total,
               leave=False, disable=None if distributed.is_main() else True)
    for videos, labels in bar:
        labels = labels.to(device, non_blocking=True)
        loss, logits = train_step(model, to_input(videos), labels, optimizer, scaler, train, device)
        scheduler.step()
        stats[0] += loss * len(labels)
        stats[1] += (logits.argmax(dim=1) == labels).sum()
        stats[2] += len(labels)
        iteration += 1
        due = bool(every) and scheduler.last_epoch % every == 0 and iteration < total
        synchronised = iteration % LOG_EVERY == 0 or due
        if synchronised:
            totals = _epoch_totals(stats, epoch, iteration)
            bar.set_postfix(loss=f"{totals[0] / totals[2]:.3f}")
            if due and on_checkpoint:
                on_checkpoint(iteration, totals)
        stop = agreed_stop() if synchronised or distributed.world_size() == 1 else None
        if stop is not None:
            bar.close()
            if on_checkpoint:
                on_checkpoint(iteration, _epoch_totals(stats, epoch, iteration))
            raise TrainingInterrupted(stop, f"in epoch {epoch + 1}, after iteration {iteration} of "
                                      f"{total}, with a checkpoint there")
    totals = _epoch_totals(stats, epoch, iteration)
    group = optimizer.param_groups[0]
    return {"train_loss": (totals[0] / totals[2]).item(), "train_top1": (100 * totals[1] / totals[2]).item(),
            "lr": group["lr"] / group.get("lr_mult", 1.0), "epoch_time_s": time.perf_counter() - started}


def fit(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader, plan: Plan,
        device: torch.device, run_dir: Path, to_input: ToInput,
        on_epoch: Callable[[dict], None], on_predictions: Callable | None = None) -> dict:
    """Train for train.epochs, resuming from run_dir's checkpoint, and return the last
    evaluation metrics. `model` is the bare network on `device`; `to_input` turns a training
    batch into its input (the data layer's, which may decode on the device). Rank 0 alone
    writes the checkpoint and passes each epoch's metrics to `on_epoch`; every evaluation's
    per-video scores go to `on_predictions` (see `evaluate`)."""
    train = plan.spec.train
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    trained = prepare_model(model, train, device)
    optimizer = build_optimizer(model, plan, device)
    sampler = train_loader.sampler
    sampler.set_epoch(0)
    scheduler = build_scheduler(optimizer, train, len(train_loader))
    scaler = grad_scaler(device, train.amp)
    path = run_dir / CHECKPOINT_FILE
    state = distributed.broadcast(read_checkpoint(path) if distributed.is_main() else None)
    start = restore_checkpoint(path, state, model, optimizer, scheduler, scaler) if state else Progress()
    if state:
        log.info("resuming %s from epoch %d, iteration %d", run_dir.name, start.epoch + 1, start.iteration)

    def checkpoint(progress: Progress) -> None:
        _check_weights(model, progress.epoch + (1 if progress.iteration else 0))
        progress.rng = distributed.all_gather(rng.capture())
        if distributed.is_main():
            save_checkpoint(path, model, optimizer, scheduler, scaler, progress)

    metrics = start.metrics
    for epoch in range(start.epoch, train.epochs):
        resume = start if epoch == start.epoch and start.iteration else None
        if resume and resume.rng and len(resume.rng) == distributed.world_size():
            rng.restore(resume.rng[distributed.rank()])
        else:
            rng.seed_all(rng.derive_seed(train.seed, epoch, distributed.rank()))
        sampler.set_epoch(epoch, skip=resume.iteration * train_loader.batch_size if resume else 0)
        done = metrics
        epoch_metrics = train_one_epoch(
            trained, train_loader, optimizer, scheduler, device, train, epoch, to_input,
            scaler=scaler, start=resume,
            on_checkpoint=lambda iteration, totals: checkpoint(Progress(epoch, iteration, done, totals)))
        last = epoch + 1 == train.epochs
        evaluated = last or (epoch + 1) % plan.spec.eval.interval == 0
        metrics = {**epoch_metrics,
                   **(evaluate(model, val_loader, device, train.amp, plan.spec.eval.aggregate,
                               on_predictions) if evaluated else {}),
                   "epoch": epoch + 1}
        # Metrics first: a kill between the two repeats the epoch, whose new line replaces
        # the old one; the other order would lose the epoch's line for good.
        if distributed.is_main():
            on_epoch(metrics)
        checkpoint(Progress(epoch + 1, 0, metrics))
        validation = f", val top-1 {metrics['top1']:.1f}%" if evaluated else ""
        log.info("epoch %d/%d: train loss %.3f%s", epoch + 1, train.epochs,
                 metrics["train_loss"], validation)
        stop = agreed_stop()  # a signal during the evaluation or the checkpoint write
        if stop is not None and not last:
            raise TrainingInterrupted(stop, f"after epoch {epoch + 1}, with its checkpoint")
    return metrics
