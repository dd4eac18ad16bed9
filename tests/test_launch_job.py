"""A job told to stop is requeued and resumes: submitit's local executor runs the experiment in
a job, and at its third training iteration the job is sent what Slurm sends: SIGTERM to the
job's controller, which passes it on, as to a preempted job, or SIGUSR1 to the job's process,
the warning before a time limit. The run checkpoints at the next iteration boundary and hands
over to submitit, which requeues the job (exit code 144; the controller starts it again); the
second attempt resumes from the checkpoint. Its record, its per-epoch metrics and its final
weights equal those of the same experiment run as a job without interruption.
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pytest
import yaml
from conftest import tiny_experiment

from actionbench.config import load_plans
from actionbench.engine import train as train_module
from actionbench.engine.checkpoint import read_checkpoint
from actionbench.engine.train import CHECKPOINT_FILE
from actionbench.launch import submit as submit_module
from actionbench.launch.job import ExperimentJob
from actionbench.store.metrics_log import read_metrics
from actionbench.store.record import FINISHED, read_record
from actionbench.store.run_store import RunStore

PREEMPT_MARKER = "ACTIONBENCH_TEST_PREEMPT_MARKER"
"""The file whose absence tells the job that this is its first attempt (the job inherits this
environment variable from the test)."""
PREEMPT_AT = 3
PREEMPT_SIGNAL = "ACTIONBENCH_TEST_PREEMPT_SIGNAL"
"""'SIGTERM': sent to the controller (preemption); 'SIGUSR1': to the job's process (time limit)."""
TESTS = Path(__file__).resolve().parent


class PreemptedOnce(ExperimentJob):
    """The experiment's job, whose first attempt is sent `PREEMPT_SIGNAL` during the training
    step `PREEMPT_AT`: SIGTERM to its controller, which forwards it to this process
    (facebookincubator/submitit@v1.5.4:submitit/local/local.py, `Controller._forward_signal`),
    or SIGUSR1 to this process."""

    def __call__(self) -> str:
        marker = Path(os.environ[PREEMPT_MARKER])
        if not marker.exists():
            marker.touch()
            real_step, steps = train_module.train_step, []

            def step(*args, **kwargs):
                steps.append(1)
                if len(steps) == PREEMPT_AT:
                    signum = signal.Signals[os.environ[PREEMPT_SIGNAL]]
                    os.kill(os.getppid() if signum == signal.SIGTERM else os.getpid(), signum)
                return real_step(*args, **kwargs)

            train_module.train_step = step
        return super().__call__()


def weights_digest(run_dir: Path) -> str:
    model = read_checkpoint(run_dir / CHECKPOINT_FILE)["model"]
    digest = hashlib.sha256()
    for name, tensor in sorted(model.items()):
        digest.update(name.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def submit_job(plan, runs: Path, job_class, monkeypatch):
    monkeypatch.setattr(submit_module, "ExperimentJob", job_class)
    (submission,) = submit_module.submit([plan], RunStore(runs), "local", {}, device="cpu", force=False)
    return submission


def experiment(folder: Path, synth_root: Path):
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(tiny_experiment(data__root=str(synth_root), train__epochs=2,
                                                   train__batch_size=4, train__dropout=0.3)))
    (plan,) = load_plans([path])
    return plan


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, synth_root):
    """The experiment's run folder, trained by a job that nothing stopped."""
    folder = tmp_path_factory.mktemp("straight")
    plan = experiment(folder, synth_root)
    with pytest.MonkeyPatch.context() as monkeypatch:
        submission = submit_job(plan, folder / "runs", ExperimentJob, monkeypatch)
        assert submit_module.wait([submission], RunStore(folder / "runs")) == {plan.id: FINISHED}
    return folder / "runs" / plan.id


@pytest.mark.slow
@pytest.mark.parametrize("signum", ["SIGTERM", "SIGUSR1"])
def test_a_job_told_to_stop_is_requeued_and_ends_as_an_uninterrupted_one(
        synth_root, uninterrupted, tmp_path, monkeypatch, signum):
    plan = experiment(tmp_path, synth_root)
    monkeypatch.setenv("PYTHONPATH", str(TESTS))  # the job unpickles PreemptedOnce from this module
    monkeypatch.setenv(PREEMPT_MARKER, str(tmp_path / "preempted"))
    monkeypatch.setenv(PREEMPT_SIGNAL, signum)
    preempted = submit_job(plan, tmp_path / "runs", PreemptedOnce, monkeypatch)
    assert submit_module.wait([preempted], RunStore(tmp_path / "runs")) == {plan.id: FINISHED}

    paths = preempted.job.paths
    log = paths.stderr.read_text() + paths.stdout.read_text()  # ours, then submitit's logger
    assert f"{signum} received: stopping at the next iteration boundary" in log
    assert f"stopped by {signum} in epoch 1, after iteration {PREEMPT_AT} of 5" in log
    assert "this job is preempted" in log and "Requeued job" in log
    assert log.count("Starting with JobEnvironment") == 2
    assert "resuming " in log and f"from epoch 1, iteration {PREEMPT_AT}" in log
    assert "Bypassing signal SIGTERM" not in log  # our handler had the signal, not submitit's

    run_dirs = [tmp_path / "runs" / plan.id, uninterrupted]
    assert uninterrupted.name == plan.id
    records = [read_record(run_dir / "result.json") for run_dir in run_dirs]
    assert [record.status for record in records] == [FINISHED, FINISHED]
    for key in ("top1", "top5", "mean_class_acc", "epochs"):
        assert getattr(records[0], key) == getattr(records[1], key), key
    lines = [read_metrics(run_dir) for run_dir in run_dirs]
    assert [line["epoch"] for line in lines[0]] == [1, 2]
    for got, expected in zip(*lines):
        for key in ("train_loss", "train_top1", "lr", "top1", "val_loss"):
            assert got[key] == expected[key], (got["epoch"], key)
    assert read_checkpoint(run_dirs[0] / CHECKPOINT_FILE)["epoch"] == 2
    assert weights_digest(run_dirs[0]) == weights_digest(run_dirs[1])
