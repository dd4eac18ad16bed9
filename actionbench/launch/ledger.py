"""The jobs submitted into a runs folder: `runs/.jobs/<id>.json`, one per experiment, written
when its job is submitted (and by the job, when it fails without a record). `status` reads
them, with the scheduler's state of each job, to say "queued" or "failed" before the run
folder can; submitit's own files (scripts, pickles, logs) go to `runs/.submitit/<job id>/`.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core.atomic import write_text

JOBS_FOLDER = ".jobs"
SUBMITIT_FOLDER = ".submitit"
LIVE_SLURM_STATES = {"READY", "PENDING", "RUNNING", "REQUEUED", "COMPLETING", "PREEMPTED", "SUSPENDED",
                     "CONFIGURING", "RESIZING", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT"}
"""Slurm job states (squeue(1), "JOB STATE CODES") of a job that has not ended: PREEMPTED
stays here since a preempted job of a requeueing partition comes back."""
log = logging.getLogger(__name__)


@dataclass
class JobEntry:
    id: str
    """The experiment's run id."""
    launcher: str
    job_id: str
    folder: str
    """submitit's folder of this job (its logs)."""
    host: str
    """Where it was submitted from (a local job runs there)."""
    submitted: str
    processes: int
    failure: str | None = None
    """Why the job ended without a record, written by the job itself."""

    @property
    def log_file(self) -> Path:
        return Path(self.folder) / f"{self.job_id}_0_log.err"


@dataclass(frozen=True)
class JobState:
    live: bool | None
    """None: the scheduler cannot say (no sacct here, a local job of another machine)."""
    label: str


def submitit_folder(root: Path) -> Path:
    """submitit's folder pattern: one subfolder per job id."""
    return Path(root).resolve() / SUBMITIT_FOLDER / "%j"


def entry_file(root: Path, run_id: str) -> Path:
    return Path(root) / JOBS_FOLDER / f"{run_id}.json"


def write_entry(root: Path, entry: JobEntry) -> None:
    write_text(entry_file(root, entry.id), json.dumps(asdict(entry), indent=2) + "\n")


def read_entry(root: Path, run_id: str) -> JobEntry | None:
    return _read(entry_file(root, run_id))


def all_entries(root: Path) -> dict[str, JobEntry]:
    found = (_read(path) for path in sorted((Path(root) / JOBS_FOLDER).glob("*.json")))
    return {entry.id: entry for entry in found if entry}


def record_failure(root: Path, run_id: str, job_id: str, reason: str) -> None:
    """Called by the job: the reason it ends without a record (a newer job's entry is left alone)."""
    entry = read_entry(root, run_id)
    if entry and entry.job_id == job_id:
        entry.failure = reason
        write_entry(root, entry)


def _read(path: Path) -> JobEntry | None:
    try:
        return JobEntry(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("%s: unreadable job entry, ignored (%s)", path, exc)
        return None


def job_states(entries: list[JobEntry]) -> dict[str, JobState]:
    """Each entry's job state, by run id: Slurm's through submitit (one sacct call for all),
    a local job's from its controller process."""
    slurm = {entry.id: entry for entry in entries if entry.launcher == "slurm"}
    states = {entry.id: _local_state(entry) for entry in entries if entry.launcher == "local"}
    if slurm and shutil.which("sacct") is None:
        states.update({run_id: JobState(None, "no sacct on this machine") for run_id in slurm})
    elif slurm:
        import submitit

        jobs = {run_id: submitit.SlurmJob(folder=entry.folder, job_id=entry.job_id)
                for run_id, entry in slurm.items()}  # registered together: one sacct call
        for run_id, job in jobs.items():
            label = job.state
            known = label.split()[0] != "UNKNOWN"
            states[run_id] = JobState(label.split()[0] in LIVE_SLURM_STATES if known else None, label)
    return states


def _local_state(entry: JobEntry) -> JobState:
    """submitit's local job id is the pid of its controller process, which restarts the job's
    process when it asks to be requeued and exits when the job is done."""
    if entry.host != platform.node():
        return JobState(None, f"on {entry.host}")
    try:
        command = Path(f"/proc/{entry.job_id}/cmdline").read_bytes()
    except OSError:
        return JobState(_pid_alive(int(entry.job_id)), "")
    return JobState(b"submitit" in command, "")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
