"""`fuse`: late fusion of the saved predictions of several finished runs (two streams, clips
evaluated in separate runs, an ensemble of seeds) into a run folder of its own, whose record
`report` shows like any other.

The fused run's folder is `runs/<NAME>-<hash>`, the hash covering the members' predictions
digests, their weights and the fusion space, so the same fusion always lands in the same folder
and a different one never replaces it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import time
from pathlib import Path

from ..core.errors import UserError
from ..plan.schema import NAME_PATTERN
from ..report.fusion import fuse as fuse_predictions
from ..report.fusion import normalised_weights
from ..store.predictions import Predictions, read_predictions, write_predictions
from ..store.provenance import now, provenance
from ..store.record import FINISHED, RESULT_FILE, DamagedRecord, RunRecord, read_record
from ..store.run_predictions import PREDICTIONS_FILE, PredictionsEntry
from ..store.run_store import RunStore

log = logging.getLogger("actionbench")


def fuse(args: argparse.Namespace) -> int:
    started, clock = now(), time.perf_counter()
    if not re.match(NAME_PATTERN, args.name):
        raise UserError(f"fuse -o '{args.name}': expected a name of letters, digits, '.', '_', '+' and '-' "
                        "that starts with a letter or digit")
    members = [_member(run, args.runs) for run in args.members]
    ids = [record.id for record, _ in members]
    repeated = sorted({run for run in ids if ids.count(run) > 1})
    if repeated:
        raise UserError(f"fuse: run {', '.join(repeated)} given more than once")
    datasets = {record.id: record.dataset for record, _ in members}
    if len(set(datasets.values())) > 1:
        raise UserError("cannot fuse runs of different datasets: "
                        + ", ".join(f"'{run}' ({dataset})" for run, dataset in datasets.items()))
    fused = fuse_predictions(dict(zip(ids, [predictions for _, predictions in members])), args.space,
                             args.weights)
    weights = normalised_weights(ids, args.weights).tolist()
    digests = [record.predictions.sha256 for record, _ in members]
    content = [args.space, [[digest, weight] for digest, weight in zip(digests, weights)]]
    run_id = f"{args.name}-{hashlib.sha1(json.dumps(content).encode()).hexdigest()[:8]}"
    folder = Path(args.runs) / run_id
    entry = PredictionsEntry.of(fused, PREDICTIONS_FILE, write_predictions(folder / PREDICTIONS_FILE, fused))
    record = RunRecord.fused(args.name, run_id, [record for record, _ in members], weights, args.space,
                             fused.metrics(), entry, provenance(None, started), time.perf_counter() - clock)
    RunStore(args.runs).write_record(folder, record)
    log.info("fused %s (%s, weights %s): top-1 %.1f%% -> %s", ", ".join(ids), args.space,
             ", ".join(f"{weight:.3g}" for weight in weights), record.top1, folder)
    return 0


def _member(run: str, runs: Path) -> tuple[RunRecord, Predictions]:
    """A finished record with its saved predictions, from a run folder or a run id in `runs`."""
    folder = Path(run) if Path(run).is_dir() else Path(runs) / run
    try:
        record = read_record(folder / RESULT_FILE)
    except DamagedRecord as exc:
        raise UserError(f"fuse: {exc}") from None
    if record is None:
        raise UserError(f"fuse: no run folder with a {RESULT_FILE} at '{run}' (nor {folder})")
    if record.status != FINISHED:
        raise UserError(f"fuse: run '{record.id}' is {record.status}, not finished")
    if record.predictions is None:
        raise UserError(f"fuse: run '{record.id}' has no saved predictions (recorded before actionbench "
                        "saved them); evaluate its checkpoint again with `benchmark.py eval`")
    return record, read_predictions(folder / record.predictions.file, record.predictions.sha256)
