"""Run one experiment end to end: data, model, training, evaluation, cost, record."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from pathlib import Path

import torch

from .config import Experiment
from .cost import measure_cost
from .data.loader import build_loaders
from .engine import distributed
from .engine.train import TrainingDiverged, fit
from .errors import UserError
from .models import build_network
from .results import BUSY, FAILED, FINISHED, RunStore, append_metrics, build_record, now, write_record

log = logging.getLogger(__name__)


def resolve_device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return torch.device(name)


def run_experiment(experiment: Experiment, store: RunStore, device: torch.device,
                   force: bool = False) -> dict:
    """Train and evaluate `experiment` unless a finished record exists; returns the record,
    or `{"id", "status": BUSY}` when another process is running the experiment right now.

    Under torchrun, rank 0 alone takes the lock, decides, and writes the run folder; every
    process trains, and every process returns rank 0's record."""
    main = distributed.is_main()
    with store.claim(experiment) if main else contextlib.nullcontext() as holder:
        record = distributed.broadcast(_no_training_needed(experiment, store, force, holder)
                                       if main else None)
        if record is not None:
            return record
        if main and force:
            shutil.rmtree(store.run_dir(experiment), ignore_errors=True)
        run_dir = store.start(experiment) if main else store.run_dir(experiment)
        distributed.barrier()
        return distributed.broadcast(_train_and_record(experiment, run_dir, device))


def _no_training_needed(experiment: Experiment, store: RunStore, force: bool,
                        holder: str | None) -> dict | None:
    """The record to return instead of training: BUSY while another process holds the
    experiment's lock, or the finished record (unless `force`)."""
    if holder is not None:
        log.warning("skip %s: %s is running it (lock in %s); its result will appear in %s",
                    experiment.id, holder, store.root, store.run_dir(experiment))
        return {"id": experiment.id, "status": BUSY}
    if not force and (record := store.finished(experiment)):
        log.info("skip %s: finished record in %s (use --force to rerun)", experiment.id,
                 store.run_dir(experiment))
        return record
    return None


def _train_and_record(experiment: Experiment, run_dir: Path, device: torch.device) -> dict | None:
    """The record, on rank 0; None on the other processes."""
    spec = experiment.spec
    started, clock = now(), time.perf_counter()
    train_loader, val_loader = build_loaders(spec, device=device)
    model = build_network(spec).to(device)
    log.info("run %s on %s -> %s", experiment.id, device, run_dir)
    metrics, status, reason = {}, FINISHED, None
    try:
        metrics = fit(model, train_loader, val_loader, spec, device, run_dir,
                      on_epoch=lambda epoch_metrics: append_metrics(run_dir, epoch_metrics))
    except TrainingDiverged as exc:
        # The checkpoint on disk is the last finished epoch's, written before the loss broke.
        status, reason = FAILED, f"{exc}; the last good checkpoint is kept in {run_dir}"
        log.error("%s failed: %s", experiment.id, reason)
    policy = val_loader.policy
    for skipped in distributed.all_gather(policy.skipped):  # each process reads its own share
        policy.skipped.update(skipped)
    if not distributed.is_main():
        return None
    cost = measure_cost(model, spec, device)
    skips = policy.summary()
    if skips["skipped_samples"]:
        log.warning("%s: skipped %d unreadable samples (data.on_error: skip), listed in the record",
                    experiment.id, skips["skipped_samples"])
    record = build_record(experiment, status=status, device=str(device), metrics=metrics,
                          cost=cost, started=started, wall_time_s=time.perf_counter() - clock,
                          reason=reason, epochs_done=metrics.get("epoch", 0), skips=skips)
    record["processes"] = distributed.world_size()
    path = write_record(run_dir, record)
    log.info("%s: top-1 %s, %.3f GFLOPs, %.2f M params -> %s", experiment.id,
             _percent(record["top1"]), record["gflops"], record["params_m"], path)
    return record


def evaluate_weights(experiment: Experiment, weights: Path, store: RunStore,
                     device: torch.device) -> dict:
    """Evaluation only, with the experiment's test protocol, of weights from a file (ours or a
    reference repository's release): a published row reproduced from its checkpoint. The record
    goes to its own run folder, named after the weights' digest, so it never replaces the
    record of a run that trained the same experiment."""
    from .engine.evaluate import evaluate
    from .models.weights import file_sha256, load_weights

    started, clock = now(), time.perf_counter()
    model = build_network(experiment.spec)
    # Loaded before the run folder exists: weights that do not fit leave nothing behind.
    match = load_weights(model, experiment.spec.model.method, weights)
    digest = file_sha256(weights)
    named = experiment.spec.model_copy(update={"name": f"{experiment.spec.name}-w{digest[:8]}"})
    experiment = Experiment(named, experiment.source)
    _, val_loader = build_loaders(named, train=False)
    run_dir = store.start(experiment)
    metrics = evaluate(model.to(device), val_loader, device, named.train.amp)
    record = build_record(experiment, status=FINISHED, device=str(device), metrics=metrics,
                          cost=measure_cost(model, named, device), started=started,
                          wall_time_s=time.perf_counter() - clock, skips=val_loader.policy.summary())
    record["weights"] = {"path": str(weights), "sha256": digest,
                         "key_convention": match.convention.name}
    path = write_record(run_dir, record)
    log.info("%s: top-1 %s with %s -> %s", experiment.id, _percent(record["top1"]), weights, path)
    return record


def profile_experiment(experiment: Experiment, device: torch.device, speed: bool = True) -> dict:
    """Cost only: needs no data."""
    spec = experiment.spec
    cost = measure_cost(build_network(spec), spec, device, speed=speed)
    return {"id": experiment.id, "name": spec.name, "method": spec.model.method,
            "backbone": spec.model.backbone, "dataset": spec.data.dataset,
            "frames": spec.data.frames, "input_size": spec.data.input_size,
            "views": spec.views, **cost}


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"
