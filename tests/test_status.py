"""`status`: one line per run folder or experiment, with totals, read from files that a run in
progress keeps writing, from the run's lock (tested, never taken) and from the job ledger; a
folder that is not a run store is one line and exit code 2."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import torch
from conftest import tiny_experiment
from test_records import good_record

from actionbench.cli import main
from actionbench.launch import ledger

REPO = Path(__file__).resolve().parents[1]
HOLD_LOCK = """
import sys, time
from actionbench.core.locks import file_lock
with file_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


def config(folder: Path, epochs: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(f"name: x\ntrain: {{epochs: {epochs}}}\n")


def checkpoint(folder: Path, epoch: int, iteration: int, stats: list[float] | None) -> None:
    """The fields of a checkpoint that status reads (engine/checkpoint.py writes them all)."""
    torch.save({"epoch": epoch, "iteration": iteration,
                "epoch_stats": torch.tensor(stats) if stats else None}, folder / "checkpoint.pt")


def entry(runs: Path, run_id: str, job_id: int, failure: str | None = None) -> None:
    ledger.write_entry(runs, ledger.JobEntry(
        id=run_id, launcher="local", job_id=str(job_id), folder=str(runs / ".submitit" / str(job_id)),
        host=platform.node(), submitted=datetime.now().astimezone().isoformat(timespec="seconds"),
        processes=1, failure=failure))


@pytest.fixture
def store(tmp_path):
    """A run store with a run in each state; the running one's lock is held by another process,
    and the queued one's job is a live process whose command line names submitit."""
    runs = tmp_path / "runs"
    config(runs / "done-1")
    (runs / "done-1" / "result.json").write_text(good_record("done-1").to_json())
    config(runs / "diverged-1")
    (runs / "diverged-1" / "result.json").write_text(
        good_record("diverged-1", status="failed", reason="loss became nan in epoch 2", top1=None).to_json())
    config(runs / "stopped-1")
    checkpoint(runs / "stopped-1", epoch=1, iteration=2, stats=[4.5, 1.0, 2.0])
    config(runs / "between-1")
    checkpoint(runs / "between-1", epoch=2, iteration=0, stats=None)
    (runs / "between-1" / "metrics.jsonl").write_text('{"epoch": 1, "train_loss": 2.5}\n'
                                                     '{"epoch": 2, "train_loss": 1.25}\n')
    config(runs / "fresh-1")
    config(runs / "running-1")
    checkpoint(runs / "running-1", epoch=0, iteration=3, stats=[6.0, 0.0, 3.0])
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(runs / ".running-1.lock")],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    queued = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "submitit"])
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    entry(runs, "queued-1", queued.pid)
    entry(runs, "crashed-1", dead.pid, failure="UserError: data.root: no such folder")
    assert holder.stdout.readline().strip() == "held"
    yield runs, holder.pid
    for process in (holder, queued):
        process.kill()
        process.wait()
    holder.stdout.close()


def test_every_state_has_its_line_and_the_totals_end_the_table(store, capsys):
    runs, holder = store
    assert main(["status", str(runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: " ".join(line.split()[1:]) for line in lines[1:-1]}
    today = f"{datetime.now():%Y-%m-%d}"
    assert rows["done-1"] == "finished top-1 55.0%"
    assert rows["diverged-1"] == "failed loss became nan in epoch 2"
    assert rows["stopped-1"] == "stopped epoch 2/3, iteration 2, loss 2.250: `run` resumes it"
    assert rows["between-1"] == "stopped 2/3 epochs done, loss 1.250: `run` resumes it"
    assert rows["fresh-1"] == "not started"
    assert rows["running-1"].startswith(f"running pid {holder} on {platform.node()}; epoch 1/3, iteration "
                                        f"3, loss 2.000; since {today}")
    assert rows["queued-1"].startswith("queued job ")
    assert rows["crashed-1"].startswith("failed job ") and rows["crashed-1"].endswith(
        "(local): UserError: data.root: no such folder")
    assert lines[-1] == ("8 experiments: 1 finished, 1 running, 1 queued, 2 failed, 2 stopped, "
                         "1 not started")


def test_experiment_files_get_a_line_each_even_before_their_run_has_a_folder(write_yaml, tmp_path, capsys):
    paths = [write_yaml(f"{name}.yaml", tiny_experiment(name=name)) for name in ("alpha", "beta")]
    runs = tmp_path / "runs"
    runs.mkdir()
    assert main(["status", str(runs), *map(str, paths), "--set", "train.epochs=2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0].split("-")[0] for line in lines[1:-1]] == ["alpha", "beta"]
    assert lines[-1] == "2 experiments: 2 not started"


def test_a_lock_being_tested_is_not_taken(store):
    """Two status calls in a row while a run holds its lock: both see it held, and the holder
    keeps it (status only tests the lock)."""
    runs, holder = store
    from actionbench.launch.progress import lock_holder
    from actionbench.store.run_store import RunStore

    for _ in range(2):
        held = lock_holder(RunStore(runs), "running-1")
        assert held and held[0] == f"pid {holder} on {platform.node()}"
        time.sleep(0.05)


@pytest.mark.parametrize("make", ["empty", "other files", "a file"])
def test_a_folder_that_is_not_a_run_store_is_one_line(tmp_path, capsys, make):
    target = tmp_path / "somewhere"
    if make == "a file":
        target.write_text("x")
    else:
        target.mkdir()
        if make == "other files":
            (target / "notes.txt").write_text("x")
            (target / "sub").mkdir()
    assert main(["status", str(target)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"error: status: {target} is not a run store")
