"""Run one experiment end to end: data, model, training, evaluation, cost, record."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import torch

from .config import Experiment
from .cost import measure_cost
from .data.loader import build_loaders
from .engine.train import TrainingDiverged, fit
from .errors import UserError
from .models import build_network
from .results import FAILED, FINISHED, RunStore, append_metrics, build_record, now, write_record

log = logging.getLogger(__name__)


def resolve_device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return torch.device(name)


def run_experiment(experiment: Experiment, store: RunStore, device: torch.device,
                   force: bool = False) -> dict:
    """Train and evaluate `experiment` unless a finished record exists; returns the record."""
    if not force and (record := store.finished(experiment)):
        log.info("skip %s: finished record in %s (use --force to rerun)", experiment.id,
                 store.run_dir(experiment))
        return record
    if force:
        shutil.rmtree(store.run_dir(experiment), ignore_errors=True)
    run_dir = store.start(experiment)
    spec = experiment.spec
    started, clock = now(), time.perf_counter()
    train_loader, val_loader = build_loaders(spec)
    model = build_network(spec).to(device)
    log.info("run %s on %s -> %s", experiment.id, device, run_dir)
    metrics, status, reason = {}, FINISHED, None
    try:
        metrics = fit(model, train_loader, val_loader, spec, device, run_dir,
                      on_epoch=lambda epoch_metrics: append_metrics(run_dir, epoch_metrics))
    except TrainingDiverged as exc:
        status, reason = FAILED, str(exc)
        log.error("%s failed: %s", experiment.id, reason)
    cost = measure_cost(model, spec, device)
    record = build_record(experiment, status=status, device=str(device), metrics=metrics,
                          cost=cost, started=started, wall_time_s=time.perf_counter() - clock,
                          reason=reason, epochs_done=metrics.get("epoch", 0))
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

    if not weights.is_file():
        raise UserError(f"--weights: file '{weights}' not found")
    digest = file_sha256(weights)
    named = experiment.spec.model_copy(update={"name": f"{experiment.spec.name}-w{digest[:8]}"})
    experiment = Experiment(named, experiment.source)
    run_dir = store.start(experiment)
    started, clock = now(), time.perf_counter()
    _, val_loader = build_loaders(named, train=False)
    model = build_network(named)
    match = load_weights(model, named.model.method, weights)
    metrics = evaluate(model.to(device), val_loader, device, named.train.amp)
    record = build_record(experiment, status=FINISHED, device=str(device), metrics=metrics,
                          cost=measure_cost(model, named, device), started=started,
                          wall_time_s=time.perf_counter() - clock)
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
