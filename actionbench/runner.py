"""Run one experiment end to end: data, model, training, evaluation, cost, record."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

import torch

from .core import distributed, signals
from .core.errors import UserError
from .cost import measure_cost
from .data.catalog import CLASSES_FILE, read_class_names
from .data.faults import worker_failure
from .data.gpu_decode import input_converter
from .data.loader import build_loaders
from .engine.evaluate import evaluate
from .engine.train import TrainingDiverged, TrainingInterrupted, agreed_stop, fit
from .models import build_network
from .models.weights import file_sha256, load_weights
from .plan.plan import Plan
from .store.metrics_log import append_metrics
from .store.provenance import now, provenance
from .store.record import FAILED, FINISHED, RunRecord, WeightsSource
from .store.run_predictions import PredictionsWriter
from .store.run_store import RunStore
from .store.tensorboard_events import write_epoch_events

log = logging.getLogger(__name__)

BUSY = "running elsewhere"
"""Not a record's status: what `run_experiment` reports when another process holds the run."""


def resolve_device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return torch.device(name)


def run_experiment(plan: Plan, store: RunStore, device: torch.device,
                   force: bool = False) -> str:
    """Train and evaluate `plan` unless a finished record exists; returns the run's status
    (`BUSY` when another process is running the experiment right now).

    A stop signal (`core/signals.py`) ends it with `TrainingInterrupted` after a checkpoint,
    without a record: the run stays unfinished and `run` again resumes it.

    Under torchrun, rank 0 alone takes the lock, decides, and writes the run folder; every
    process trains, and every process returns rank 0's status."""
    main = distributed.is_main()
    with signals.deferred_stop():
        # A finished record is read before the lock is taken: a store on a read-only mount
        # holds finished runs that need no lock file.
        done = distributed.broadcast(main and not force and store.finished(plan) is not None)
        if done:
            log.info("skip %s: finished record in %s (use --force to rerun)", plan.id,
                     store.run_dir(plan))
            return FINISHED
        with store.claim(plan) if main else contextlib.nullcontext() as holder:
            status = distributed.broadcast(_no_training_needed(plan, store, force, holder)
                                           if main else None)
            if status is not None:
                return status
            run_dir = store.start(plan, fresh=force) if main else store.run_dir(plan)
            distributed.barrier()
            return distributed.broadcast(_train_and_record(plan, store, run_dir, device))


def _no_training_needed(plan: Plan, store: RunStore, force: bool,
                        holder: str | None) -> str | None:
    """The status to report instead of training: BUSY while another process holds the
    experiment's lock, or FINISHED when its record exists (unless `force`); checked again
    with the lock held, since another process may have finished it meanwhile."""
    if holder is not None:
        log.warning("skip %s: %s is running it (lock in %s); its result will appear in %s",
                    plan.id, holder, store.root, store.run_dir(plan))
        return BUSY
    if not force and store.finished(plan):
        log.info("skip %s: finished record in %s (use --force to rerun)", plan.id,
                 store.run_dir(plan))
        return FINISHED
    return None


def _stop_if_requested(where: str) -> None:
    signum = agreed_stop()
    if signum is not None:
        raise TrainingInterrupted(signum, where)


def _train_and_record(plan: Plan, store: RunStore, run_dir: Path,
                      device: torch.device) -> str | None:
    """The status, on rank 0; None on the other processes. The loaders' worker processes
    are stopped before it returns or raises."""
    started, clock = now(), time.perf_counter()
    train_loader, val_loader = build_loaders(plan, device=device)
    try:
        model = build_network(plan).to(device)
        _stop_if_requested("before training started")
        log.info("run %s on %s -> %s", plan.id, device, run_dir)
        metrics, status, reason = {}, FINISHED, None
        predictions = predictions_writer(plan, run_dir, val_loader)
        try:
            metrics = fit(model, train_loader, val_loader, plan, device, run_dir,
                          to_input=input_converter(plan, device),
                          on_epoch=lambda epoch_metrics: _log_epoch(run_dir, epoch_metrics),
                          on_predictions=predictions)
        except TrainingInterrupted as stop:
            raise TrainingInterrupted(stop.signum, f"{stop.where} ({run_dir})") from None
        except TrainingDiverged as exc:
            # The checkpoint on disk is the last finished epoch's, written before the loss broke.
            status, reason = FAILED, f"{exc}; the last good checkpoint is kept in {run_dir}"
        except RuntimeError as exc:
            reason = worker_failure(exc, plan.spec.data.workers)
            if reason is None:
                raise
            status = FAILED
        if reason:
            log.error("%s failed: %s", plan.id, reason)
        _stop_if_requested("after training, before measuring its cost")
    finally:
        train_loader.close()
        val_loader.close()
    policy = val_loader.policy
    for skipped in distributed.all_gather(policy.skipped):  # each process reads its own share
        policy.skipped.update(skipped)
    if not distributed.is_main():
        return None
    skips = policy.summary()
    if skips["skipped_samples"]:
        log.warning("%s: skipped %d unreadable samples (data.on_error: skip), listed in the record",
                    plan.id, skips["skipped_samples"])
    record = RunRecord.create(plan, status=status, metrics=metrics,
                              cost=measure_cost(model, plan, device), device=str(device),
                              provenance=provenance(plan.spec.train.seed, started),
                              wall_time_s=time.perf_counter() - clock,
                              epochs=metrics.get("epoch", 0), processes=distributed.world_size(),
                              reason=reason, skips=skips, predictions=predictions.entry)
    path = store.write_record(run_dir, record)
    log.info("%s: top-1 %s, %.3f GFLOPs, %.2f M params -> %s", plan.id, _percent(record.top1),
             record.gflops, record.params_m, path)
    return record.status


def _log_epoch(run_dir: Path, metrics: dict) -> None:
    """`metrics.jsonl` for the reports, TensorBoard events for watching a run live."""
    append_metrics(run_dir, metrics)
    write_epoch_events(run_dir, metrics)


def evaluate_weights(plan: Plan, weights: Path, store: RunStore, device: torch.device) -> RunRecord:
    """Evaluation only, with the experiment's test protocol, of weights from a file (ours or a
    reference repository's release): a published row reproduced from its checkpoint. The record
    goes to its own run folder, named after the weights' digest, so it never replaces the
    record of a run that trained the same experiment."""
    started, clock = now(), time.perf_counter()
    model = build_network(plan)
    # Loaded before the run folder exists: weights that do not fit leave nothing behind.
    match = load_weights(model, plan.method, weights)
    _refuse_non_finite(model, weights)
    digest = file_sha256(weights)
    plan = plan.renamed(f"{plan.name}-w{digest[:8]}")
    _, val_loader = build_loaders(plan, train=False)
    run_dir = store.start(plan)
    predictions = predictions_writer(plan, run_dir, val_loader)
    try:
        metrics = evaluate(model.to(device), val_loader, device, plan.spec.train.amp,
                           plan.spec.eval.aggregate, predictions)
    finally:
        val_loader.close()
    record = RunRecord.create(plan, status=FINISHED, metrics=metrics,
                              cost=measure_cost(model, plan, device), device=str(device),
                              provenance=provenance(plan.spec.train.seed, started),
                              wall_time_s=time.perf_counter() - clock, epochs=0,
                              skips=val_loader.policy.summary(),
                              weights=WeightsSource(path=str(weights), sha256=digest,
                                                    key_convention=match.convention.name),
                              predictions=predictions.entry)
    path = store.write_record(run_dir, record)
    log.info("%s: top-1 %s with %s -> %s", plan.id, _percent(record.top1), weights, path)
    return record


def _refuse_non_finite(model: torch.nn.Module, weights: Path) -> None:
    """NaN or infinite weights score at chance level and would be recorded as a finished run
    that looks like a weak model."""
    broken = [name for name, tensor in model.state_dict().items()
              if tensor.is_floating_point() and not torch.isfinite(tensor).all()]
    if broken:
        listed = ", ".join(broken[:5]) + (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
        raise UserError(f"weights file '{weights}': {len(broken)} tensor(s) hold NaN or infinite "
                        f"values ({listed}); these weights come from a diverged or damaged run")


def predictions_writer(plan: Plan, run_dir: Path, val_loader) -> PredictionsWriter:
    """Saves each evaluation's per-video scores with the evaluated list's video ids (the
    loader's records, less what its fault policy skips) and the dataset's class names."""
    classes = plan.data.root / CLASSES_FILE
    names = read_class_names(classes) if classes.is_file() else None
    listed = val_loader.dataset.dataset.records  # GuardedLoader(Guarded(dataset))
    return PredictionsWriter(run_dir, [(record.path, record.label) for record in listed],
                             skipped=lambda: val_loader.policy.skipped,
                             class_names=names if names and len(names) == plan.num_classes else None)


def profile_experiment(plan: Plan, device: torch.device, speed: bool = True) -> dict:
    """Cost only: needs no data. The training frames and crop are named beside the test view's
    (`eval_frames`, `eval_input_size`, as the record names them), which the cost is of."""
    spec = plan.spec
    cost = measure_cost(build_network(plan), plan, device, speed=speed)
    return {"id": plan.id, "name": plan.name, "method": plan.method.name,
            "backbone": plan.backbone, "dataset": spec.data.dataset,
            "frames": spec.data.frames, "input_size": spec.data.input_size,
            "eval_frames": plan.protocol.test_frames, "eval_input_size": plan.input_size,
            "views": plan.views, **cost}


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"
