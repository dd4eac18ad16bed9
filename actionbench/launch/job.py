"""The callable that submitit pickles and runs in a job: one experiment, trained on the job's
processes, that hands itself back to submitit to be requeued when it is told to stop.

How a stop travels (README, "Training at scale"). Slurm sends SIGUSR1 `signal_delay_s`
before the time limit (`settings.py`), and SIGTERM when the job is preempted. While the
experiment runs, `core/signals.py` owns both signals: the first one becomes a stop request,
training checkpoints at the next iteration boundary and raises `TrainingInterrupted`, and the
run's lock is released. Only then does this module raise submitit's own signal at itself, so
that submitit's handler (installed before the job started, and back in place once
`deferred_stop` has ended) does what it does for a checkpointable callable: it calls
`checkpoint()` below, pickles the `DelayedSubmission` it returns as the job's new submission,
requeues the job (`scontrol requeue`; exit code 144 for the local executor, whose controller
then starts it again) and exits (facebookincubator/submitit@v1.5.4:
submitit/core/job_environment.py, `SignalHandler.checkpoint_and_try_requeue`). The two
handlers never run for the same signal at once: submitit's never sees a signal while a
training iteration is half done, and ours never has to requeue anything. The requeued job
runs this callable again, finds the checkpoint, and resumes from it.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from ..core.distributed import session
from ..core.errors import UserError
from ..core.signals import deferred_stop
from ..engine.train import CHECKPOINT_FILE, TrainingInterrupted
from ..plan.plan import Plan
from ..runner import resolve_device, run_experiment
from ..store.record import RESULT_FILE
from ..store.run_store import RunStore
from . import ledger

INTERRUPTED = "interrupted"
"""What a process other than rank 0 returns after a stop: rank 0 requeues the whole job."""
log = logging.getLogger("actionbench")


class ExperimentJob:
    """submitit's checkpointable callable: `__call__` runs the experiment, `checkpoint()` gives
    submitit what to run when the job is requeued: this same object, whose state says whether
    the next attempt must still start over (`--force`) or resume."""

    def __init__(self, plan: Plan, runs: Path, device: str | None, force: bool):
        self.plan, self.runs, self.device, self.force = plan, Path(runs), device, force

    def __call__(self) -> str:
        import submitit

        _log_to_stderr()
        environment = submitit.JobEnvironment()
        submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False,
                                                               overwrite=True)
        log.info("%s: job %s, process %d of %d on %s", self.plan.id, environment.job_id,
                 environment.global_rank, environment.num_tasks, environment.hostname)
        store, main = RunStore(self.runs), environment.global_rank == 0
        try:
            try:
                with deferred_stop(), session(resolve_device(self.device)) as device:
                    status = run_experiment(self.plan, store, device, force=self.force)
            except TrainingInterrupted as stop:
                log.warning("%s; requeueing the job, which resumes from that checkpoint", stop)
                if main:
                    self.after_interruption(store)
                _hand_over_to_submitit()
                return INTERRUPTED  # ranks other than 0: the requeue ends them
        except Exception as exc:  # a failed run, or a requeue that submitit or Slurm refused
            if main:
                ledger.record_failure(self.runs, self.plan.id, environment.job_id, _one_line(exc))
            raise
        self.force = False  # done: a requeue from here on must not train it again
        return status

    def checkpoint(self) -> object:
        """Called by submitit (rank 0) when the job is to be requeued. Everything to resume is
        already on disk (the run's checkpoint), so the next attempt is this object again."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self)

    def after_interruption(self, store: RunStore) -> None:
        """A forced rerun (`--force`) that stopped after its first checkpoint resumes from it
        next time instead of starting over. The record of the run it replaces, which
        `RunStore.start(fresh=True)` keeps until the new one is written, would make the next
        attempt skip the experiment as finished: it goes now, with the lock held."""
        if not self.force:
            return
        with store.claim(self.plan) as holder:
            run_dir = store.run_dir(self.plan)
            if holder is None and (run_dir / CHECKPOINT_FILE).exists():
                (run_dir / RESULT_FILE).unlink(missing_ok=True)
                self.force = False


def _hand_over_to_submitit() -> None:
    """Raise the signal submitit's requeue handler listens on (`SUBMITIT_PREEMPT_SIGNAL`,
    SIGUSR1 in our jobs). Its handler runs before `raise_signal` returns; on rank 0 it exits
    the process, on the other ranks it returns."""
    import submitit

    signal.raise_signal(signal.Signals[f"SIG{submitit.JobEnvironment.USR_SIG}"])


def _one_line(exc: Exception) -> str:
    text = str(exc).strip()
    text = text if isinstance(exc, UserError) else f"{type(exc).__name__}: {text}".rstrip(": ")
    return text.splitlines()[0] if text else type(exc).__name__


def _log_to_stderr() -> None:
    """The job's stderr is its log file (`runs/.submitit/<job id>/<job id>_<rank>_log.err`)."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
