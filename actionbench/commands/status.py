"""`status [RUNS...] [PATH...]`: one line per experiment, read from the run folders while they
are being written, and from the scheduler for the jobs submitted with `run --launcher`.

A run is *running* while its lock is held (whichever way it was started: in a process, under
torchrun, or in a job), *queued* while its job is alive but has not taken the lock, *finished*
or *failed* by its record, *failed* too when its job ended without one, *stopped* when it has a
checkpoint and nothing is running it (`run` resumes it), and *not started* otherwise.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from tabulate import tabulate

from ..core.errors import UserError
from ..launch import ledger
from ..launch.progress import Position, lock_holder, position
from ..store.record import CONFIG_FILE, FINISHED, RESULT_FILE, DamagedRecord, read_record
from ..store.run_store import RunStore

STATES = ("finished", "running", "queued", "failed", "stopped", "not started")
DEFAULT_RUNS = Path("runs")


@dataclass(frozen=True)
class Row:
    id: str
    state: str
    detail: str


def status(args: argparse.Namespace) -> int:
    stores, experiments = classify(args.paths)
    if experiments:
        from ..config import load_plans

        rows = experiment_rows(load_plans(experiments, args.overrides), stores or [RunStore(DEFAULT_RUNS)])
    else:
        rows = [row for store in stores or [_runs_store(DEFAULT_RUNS)] for row in store_rows(store)]
    print(render(rows))
    return 0


def classify(paths: list[Path]) -> tuple[list[RunStore], list[Path]]:
    """Run folders apart from experiment files and folders; anything else is a UserError. An
    empty folder beside experiment files is the run store that their runs are yet to fill."""
    stores, experiments, empty = [], [], []
    for path in paths:
        if path.is_dir() and _is_run_store(path):
            stores.append(RunStore(path))
        elif _holds_experiments(path):
            experiments.append(path)
        elif path.is_dir() and not any(path.iterdir()):
            empty.append(path)
        else:
            raise UserError(_not_a_run_store(path))
    if empty and not experiments:
        raise UserError(_not_a_run_store(empty[0]))
    return stores + [RunStore(path) for path in empty], experiments


def _holds_experiments(path: Path) -> bool:
    if path.is_file():
        return path.suffix in (".yaml", ".yml")
    return path.is_dir() and any(path.rglob("*.yaml"))


def _runs_store(path: Path) -> RunStore:
    if not path.is_dir() or not _is_run_store(path):
        raise UserError(_not_a_run_store(path))
    return RunStore(path)


def _not_a_run_store(path: Path) -> str:
    return (f"status: {path} is not a run store (no run folders holding {CONFIG_FILE} or {RESULT_FILE}, no "
            f"{ledger.JOBS_FOLDER}/ of submitted jobs) nor an experiment file or folder; give the --runs "
            f"folder of `run`, or experiment files")


def _is_run_store(path: Path) -> bool:
    return (path / ledger.JOBS_FOLDER).is_dir() or any(_run_folders(path))


def _run_folders(root: Path):
    return (child for child in sorted(root.iterdir()) if child.is_dir() and not child.name.startswith(".")
            and ((child / CONFIG_FILE).is_file() or (child / RESULT_FILE).is_file()))


def store_rows(store: RunStore) -> list[Row]:
    """Every run folder of `store`, and every job submitted into it whose run has no folder yet."""
    entries = ledger.all_entries(store.root)
    ids = sorted({folder.name for folder in _run_folders(store.root)} | set(entries))
    states = ledger.job_states([entries[run_id] for run_id in ids if run_id in entries])
    return [run_row(store, run_id, entries.get(run_id), states.get(run_id), _planned_epochs(store, run_id))
            for run_id in ids]


def experiment_rows(plans, stores: list[RunStore]) -> list[Row]:
    """One row per plan, from the first store that knows its run."""
    rows = []
    for plan in plans:
        store = next((store for store in stores if _knows(store, plan.id)), stores[0])
        entry = ledger.read_entry(store.root, plan.id)
        state = ledger.job_states([entry]).get(plan.id) if entry else None
        rows.append(run_row(store, plan.id, entry, state, plan.spec.train.epochs))
    return rows


def _knows(store: RunStore, run_id: str) -> bool:
    return (store.root / run_id).is_dir() or ledger.entry_file(store.root, run_id).is_file()


def run_row(store: RunStore, run_id: str, entry: ledger.JobEntry | None, job: ledger.JobState | None,
            epochs: int | None) -> Row:
    run_dir = store.root / run_id
    job_name = f"job {entry.job_id} ({entry.launcher}{', ' + job.label if job and job.label else ''})" \
        if entry else ""
    held = lock_holder(store, run_id)
    if held:
        holder, since = held
        where = f"{holder}, {job_name}" if entry else holder
        return Row(run_id, "running", f"{where}; {_progress(position(run_dir), epochs)}; "
                                      f"since {since:%Y-%m-%d %H:%M}")
    try:
        record = read_record(run_dir / RESULT_FILE)
    except DamagedRecord as exc:
        return Row(run_id, "failed", str(exc))
    if job and job.live and not (record and _written_since(run_dir / RESULT_FILE, entry)):
        return Row(run_id, "queued", job_name)
    if record:
        if record.status == FINISHED:
            return Row(run_id, "finished", f"top-1 {record.top1:.1f}%" if record.top1 is not None else "")
        return Row(run_id, "failed", record.reason or "")
    if job and job.live is None:
        return Row(run_id, "queued", f"{job_name}: the scheduler cannot say whether it still is")
    at = position(run_dir)
    resume = f"{_progress(at, epochs)}: `run` resumes it" if at else ""
    if entry and (entry.failure or job and job.label.split(" ")[0] in SLURM_FAILURES):
        detail = ": ".join(part for part in (job_name, entry.failure, resume) if part)
        return Row(run_id, "failed", detail)
    return Row(run_id, "stopped", resume) if at else Row(run_id, "not started", "")


def _written_since(path: Path, entry: ledger.JobEntry) -> bool:
    """Whether the record is the job's own: its process lives on for a moment after writing it
    and releasing the lock, while a record older than the job is the one a `--force` rerun is
    queued to replace."""
    return path.stat().st_mtime >= datetime.fromisoformat(entry.submitted).timestamp()


SLURM_FAILURES = {"FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"}
"""Slurm states of a job that ended without finishing (squeue(1), "JOB STATE CODES")."""


def _progress(at: Position | None, epochs: int | None) -> str:
    if at is None:
        return "starting (no checkpoint yet)"
    total = f"/{epochs}" if epochs else ""
    loss = f", loss {at.loss:.3f}" if at.loss is not None else ""
    if at.iteration:
        return f"epoch {at.epoch + 1}{total}, iteration {at.iteration}{loss}"
    return f"{at.epoch}{total} epochs done{loss}"


def _planned_epochs(store: RunStore, run_id: str) -> int | None:
    """train.epochs of the run's config.yaml (a run folder written by any version)."""
    try:
        config = yaml.safe_load((store.root / run_id / CONFIG_FILE).read_text(encoding="utf-8"))
        return int(config["train"]["epochs"])
    except (OSError, yaml.YAMLError, TypeError, KeyError, ValueError):
        return None


def render(rows: list[Row]) -> str:
    table = tabulate([[row.id, row.state, row.detail] for row in rows],
                     headers=["experiment", "state", "details"], tablefmt="plain")
    counts = Counter(row.state for row in rows)
    totals = ", ".join(f"{counts[state]} {state}" for state in STATES if counts[state])
    return f"{table}\n{len(rows)} experiments: {totals or 'none'}"
