"""Submitting a matrix: one job per experiment that needs training, through submitit.

The skip rules are a local run's (`runner.run_experiment`): a finished record (unless
`--force`) and a run whose lock another process holds are not submitted; nor is an experiment
whose job from an earlier submission is still queued or running. Every experiment's settings
are checked, and every skip decided, before the first job is submitted, so that bad input
submits nothing.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core.errors import UserError
from ..plan.plan import Plan
from ..plan.schema import LauncherSpec
from ..store.run_store import RunStore
from . import ledger
from .job import ExperimentJob
from .progress import lock_holder
from .settings import (
    ENVIRONMENT,
    check_slurm,
    job_settings,
    local_parameters,
    processes_per_node,
    slurm_parameters,
)


@dataclass
class Submission:
    plan: Plan
    note: str
    """'submitted', or why the experiment was not."""
    job: Any = None
    """submitit's Job."""

    @property
    def job_id(self) -> str:
        return self.job.job_id if self.job is not None else ""


def submit(plans: list[Plan], store: RunStore, launcher: str, options: dict[str, Any],
           device: str | None, force: bool) -> list[Submission]:
    settings = {plan.id: job_settings(plan, options) for plan in plans}
    parameters = {plan.id: slurm_parameters(plan, settings[plan.id]) if launcher == "slurm"
                  else local_parameters(settings[plan.id]) for plan in plans}
    if launcher == "slurm":
        check_slurm({spec.partition for spec in settings.values() if spec.partition})
    skips = _skips(plans, store, force)
    submissions = []
    for plan in plans:
        if plan.id in skips:
            submissions.append(Submission(plan, skips[plan.id]))
            continue
        try:
            job = _submit_one(plan, store, launcher, settings[plan.id], parameters[plan.id], device, force)
        except Exception as exc:
            done = sum(1 for submission in submissions if submission.job is not None)
            raise UserError(f"{launcher}: submitting {plan.id} failed: {_first_line(exc)}; {done} job(s) "
                            f"were submitted before it (`status` lists them)") from None
        submissions.append(Submission(plan, "submitted", job))
    return submissions


def _skips(plans: list[Plan], store: RunStore, force: bool) -> dict[str, str]:
    """Why each experiment that is not to be submitted is not."""
    entries = {plan.id: ledger.read_entry(store.root, plan.id) for plan in plans}
    states = ledger.job_states([entry for entry in entries.values() if entry])
    skips = {}
    for plan in plans:
        held = lock_holder(store, plan.id)
        state = states.get(plan.id)
        if held:
            skips[plan.id] = f"running: {held[0]}"
        elif state and state.live:
            skips[plan.id] = f"already submitted: job {entries[plan.id].job_id}"
        elif not force and store.finished(plan):
            skips[plan.id] = "finished"
    return skips


def _submit_one(plan: Plan, store: RunStore, launcher: str, settings: LauncherSpec,
                parameters: dict[str, Any], device: str | None, force: bool):
    import submitit

    executor_class = submitit.SlurmExecutor if launcher == "slurm" else submitit.LocalExecutor
    executor = executor_class(folder=ledger.submitit_folder(store.root),
                              max_num_timeout=settings.max_timeouts)
    executor.update_parameters(**parameters)
    with submitit.helpers.environment_variables(**job_environment()):
        job = executor.submit(ExperimentJob(plan, store.root.resolve(), device, force))
    ledger.write_entry(store.root, ledger.JobEntry(
        id=plan.id, launcher=launcher, job_id=job.job_id, folder=str(job.paths.folder),
        host=platform.node(), submitted=datetime.now().astimezone().isoformat(timespec="seconds"),
        processes=settings.nodes * processes_per_node(settings)))
    return job


def job_environment() -> dict[str, str]:
    """What a job's processes need in their environment besides the submitter's (which both
    executors pass on): submitit's requeue signal, and this actionbench on the Python path,
    whichever folder the job starts in."""
    package_parent = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**ENVIRONMENT, "PYTHONPATH": os.pathsep.join([package_parent, *([path] if path else [])])}


def wait(submissions: list[Submission], store: RunStore) -> dict[str, str]:
    """Wait for every submitted job; what each one ended with, by experiment id: the run's
    status ('finished', 'failed', ...) as rank 0 returned it, or why the job failed."""
    from submitit.core.utils import UncompletedJobError

    outcomes = {}
    for submission in submissions:
        if submission.job is None:
            continue
        try:
            outcomes[submission.plan.id] = str(submission.job.results()[0])
        except UncompletedJobError as exc:
            entry = ledger.read_entry(store.root, submission.plan.id)
            outcomes[submission.plan.id] = f"job failed: {entry and entry.failure or _first_line(exc)}"
    return outcomes


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
