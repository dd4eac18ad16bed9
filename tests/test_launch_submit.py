"""`run PATH... --launcher local`: a matrix becomes one submitit job per experiment (subprocesses
of this machine), with the skip rules of a local run, and `status` follows the jobs from queued
to running to finished while they write."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from conftest import tiny_experiment

from actionbench.cli import main
from actionbench.commands import status
from actionbench.launch import ledger
from actionbench.store.record import FINISHED, read_record
from actionbench.store.run_store import RunStore

ORDER = ["queued", "running", "finished"]


def experiment_files(folder: Path, synth_root: Path) -> list[Path]:
    paths = []
    for name, lr in (("a", 0.01), ("b", 0.02)):
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(tiny_experiment(name=name, data__root=str(synth_root),
                                                       train__batch_size=4, train__lr=lr)))
        paths.append(path)
    return paths


def table_rows(out: str) -> dict[str, list[str]]:
    """The job table `run --launcher` prints: experiment -> [job id, note...]."""
    return {words[0]: words[1:] for words in (line.split() for line in out.splitlines()[1:])
            if words and re.fullmatch(r"[ab]-[0-9a-f]{8}", words[0])}


def follow(runs: Path, deadline_s: float = 900) -> dict[str, list[status.Row]]:
    """Every change of each experiment's status row until all are finished or failed."""
    seen: dict[str, list[status.Row]] = {}
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        rows = status.store_rows(RunStore(runs))
        for row in rows:
            history = seen.setdefault(row.id, [])
            if not history or history[-1].state != row.state:
                history.append(row)
        if len(rows) == 2 and all(row.state in ("finished", "failed") for row in rows):
            return seen
        time.sleep(0.2)
    raise AssertionError(f"the jobs did not end in {deadline_s} s: {seen}")


def wait_for_controllers(runs: Path) -> None:
    """No job process outlives the test."""
    end = time.monotonic() + 60
    states = ledger.job_states(list(ledger.all_entries(runs).values()))
    while any(state.live for state in states.values()) and time.monotonic() < end:
        time.sleep(0.2)
        states = ledger.job_states(list(ledger.all_entries(runs).values()))
    assert not any(state.live for state in states.values())


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, synth_root):
    """The two experiments submitted once, and everything seen until both finished."""
    folder = tmp_path_factory.mktemp("matrix")
    paths, runs = experiment_files(folder, synth_root), folder / "runs"
    command = ["run", *map(str, paths), "--runs", str(runs), "--launcher", "local", "--device", "cpu"]
    captured = {}
    for name in ("first", "again"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(command) == 0
        captured[name] = out.getvalue()
    seen = follow(runs)
    wait_for_controllers(runs)
    return paths, runs, captured, seen


@pytest.mark.slow
def test_two_experiments_run_as_two_jobs_that_write_two_records(matrix):
    paths, runs, captured, seen = matrix
    jobs = table_rows(captured["first"])
    assert len(jobs) == 2 and [note for _, note in jobs.values()] == ["submitted", "submitted"]
    assert len({job_id for job_id, _ in jobs.values()}) == 2
    assert "2 of 2 experiments submitted" in captured["first"]
    for run_id, (job_id, _) in jobs.items():
        record = read_record(runs / run_id / "result.json")
        assert record.status == FINISHED and record.epochs == 1
        assert list((runs / run_id).glob("events.out.tfevents.*"))  # live curves beside metrics.jsonl
        assert (runs / ledger.SUBMITIT_FOLDER / job_id / f"{job_id}_0_result.pkl").is_file()


@pytest.mark.slow
def test_a_second_submission_while_the_jobs_live_submits_nothing(matrix):
    _, _, captured, _ = matrix
    again = table_rows(captured["again"])
    first = table_rows(captured["first"])
    assert len(again) == 2 and "0 of 2 experiments submitted" in captured["again"]
    for run_id, words in again.items():
        note = " ".join(words)
        assert note == f"already submitted: job {first[run_id][0]}" or note.startswith("running: pid ")


@pytest.mark.slow
def test_status_follows_each_job_from_queued_to_running_to_finished(matrix, capsys):
    _, runs, _, seen = matrix
    for run_id, history in seen.items():
        states = [row.state for row in history]
        assert states == [state for state in ORDER if state in states], (run_id, history)
        assert states[-2:] == ["running", "finished"], (run_id, history)
        running = history[-2].detail
        assert re.match(r"pid \d+ on \S+, job \d+ \(local\); starting \(no checkpoint yet\); since ", running)
        assert re.fullmatch(r"top-1 \d+\.\d%", history[-1].detail)
    assert any(history[0].state == "queued" for history in seen.values())  # before a job takes its lock
    assert main(["status", str(runs)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("2 experiments: 2 finished")


@pytest.mark.slow
def test_a_matrix_with_one_finished_cell_submits_one_job_and_wait_prints_the_summary(matrix, tmp_path,
                                                                                     capsys):
    paths, runs, captured, _ = matrix
    finished_id = next(run_id for run_id in table_rows(captured["first"]) if run_id.startswith("a-"))
    store = tmp_path / "runs"
    shutil.copytree(runs / finished_id, store / finished_id)
    assert main(["run", *map(str, paths), "--runs", str(store), "--launcher", "local",
                 "--device", "cpu", "--wait"]) == 0
    out = capsys.readouterr().out
    rows = table_rows(out.split("1 of 2 experiments submitted")[0])
    assert rows[finished_id] == ["finished"]
    (other,) = set(rows) - {finished_id}
    job_id, note = rows[other]
    assert note == "submitted" and list(ledger.all_entries(store)) == [other]
    assert sorted(path.name for path in (store / ledger.SUBMITIT_FOLDER).iterdir() if path.name != "%j") \
        == [job_id]
    assert out.rstrip().endswith("2 experiments: 2 finished")  # --wait: the status of the matrix
    assert read_record(store / other / "result.json").status == FINISHED
    wait_for_controllers(store)


@pytest.mark.slow
def test_a_job_that_fails_says_why_in_status_and_wait_exits_1(write_yaml, tmp_path, capsys):
    nowhere = str(tmp_path / "nowhere")  # a dataset that the job finds missing (synthmotion is made)
    path = write_yaml("exp.yaml", tiny_experiment(data__dataset="ucf101", data__root=nowhere))
    runs = tmp_path / "runs"
    assert main(["run", str(path), "--runs", str(runs), "--launcher", "local", "--device", "cpu",
                 "--wait"]) == 1
    capsys.readouterr()
    wait_for_controllers(runs)
    (entry,) = ledger.all_entries(runs).values()
    assert "nowhere" in entry.failure and "\n" not in entry.failure
    assert main(["status", str(runs)]) == 0
    (row,) = capsys.readouterr().out.splitlines()[1:-1]
    assert row.split()[:4] == [entry.id, "failed", "job", entry.job_id]
    assert row.endswith(entry.failure)
