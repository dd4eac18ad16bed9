"""Faults lose nothing: a run killed with -9 (during training or in the middle of writing a
file) resumes with `run` again and leaves only complete files; shards of one matrix and two
processes on one experiment share a runs folder safely; a NaN loss fails the run and keeps the
last good checkpoint; unreadable samples stop the run or are skipped and counted.

Kept tiny (synthmotion: 10 training videos of 4 frames, cropped to 16 px; ResNet-18; 1 or 2
epochs): the subprocesses spend most of their time importing torch.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_experiment

import actionbench.engine.train
import actionbench.runner
from actionbench.cli import main
from actionbench.config import load_plans
from actionbench.data import synthmotion
from actionbench.store.run_store import RunStore

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
SMALL = {"train__batch_size": 5, "data__input_size": 16, "data__scale_size": 16}
"""Two training batches per epoch, and 16 px crops of the 32 px frames (a quarter of the work)."""


@pytest.fixture
def experiment(write_yaml, minimal_synth_root):
    """experiment(**overrides) -> (path of the file, run folder of its single experiment)."""

    def make(**overrides) -> tuple[Path, Path]:
        spec = tiny_experiment(**{**SMALL, "data__root": str(minimal_synth_root), **overrides})
        path = write_yaml("exp.yaml", spec)
        (loaded,) = load_plans([path])
        return path, path.parent / "runs" / loaded.id

    return make


def run_args(path: Path, *extra: str) -> list[str]:
    return ["run", str(path), "--runs", str(path.parent / "runs"), "--device", "cpu", *extra]


def start(args: list[str], log: Path, code: str | None = None) -> subprocess.Popen:
    """`python benchmark.py ARGS`, or `python -c CODE ARGS`, with stderr to `log`."""
    program = ["-c", code] if code else [str(REPO / "benchmark.py")]
    with open(log, "w") as stderr:
        return subprocess.Popen([sys.executable, *program, *args], cwd=REPO, env=ENV, text=True,
                                stdout=subprocess.PIPE, stderr=stderr)


def wait_for(condition, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"exited early ({process.returncode}): {log.read_text()}"
        assert time.monotonic() < deadline, f"timed out: {log.read_text()}"
        time.sleep(0.02)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()


def checkpoint_epoch(run_dir: Path) -> int:
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert all(torch.isfinite(value).all() for value in state["model"].values()
               if value.is_floating_point())
    return state["epoch"]


def metric_lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def partial_writes(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob(".*.tmp"))


def record(run_dir: Path) -> dict:
    return json.loads((run_dir / "result.json").read_text())


def test_kill_during_training_then_run_again_resumes(experiment, tmp_path):
    path, run_dir = experiment(train__epochs=2)
    process = start(run_args(path), tmp_path / "killed.log")
    wait_for(lambda: (run_dir / "checkpoint.pt").exists(), process, tmp_path / "killed.log")
    kill(process)  # in epoch 2, as soon as epoch 1's checkpoint is there
    assert checkpoint_epoch(run_dir) == 1 and not (run_dir / "result.json").exists()
    (epoch_1,) = [line for line in metric_lines(run_dir) if line["epoch"] == 1]

    assert main(run_args(path)) == 0
    assert metric_lines(run_dir) == [epoch_1, metric_lines(run_dir)[1]]  # epoch 1 not trained again
    assert record(run_dir)["status"] == "finished" and record(run_dir)["epochs"] == 2
    assert checkpoint_epoch(run_dir) == 2 and not partial_writes(run_dir)


STALL_WRITE = """
import os, sys, time

NAME, NTH = sys.argv.pop(1), int(sys.argv.pop(1))
original, temporaries = os.write, []

def stalling(fd, data):
    target = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
    if not target.startswith(f".{NAME}.") or target in temporaries:
        return original(fd, data)
    temporaries.append(target)
    if len(temporaries) != NTH:
        return original(fd, data)
    original(fd, bytes(data)[: len(data) // 2])
    print("stalled", flush=True)
    time.sleep(600)

os.write = stalling
import actionbench.engine.train
import actionbench.runner
from actionbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_kill_in_the_middle_of_a_checkpoint_write_leaves_no_partial_file(experiment, tmp_path):
    path, run_dir = experiment(train__epochs=2)
    log = tmp_path / "killed.log"
    process = start(["checkpoint.pt", "2", *run_args(path)], log, code=STALL_WRITE)
    assert process.stdout.readline().strip() == "stalled", log.read_text()
    kill(process)  # half of epoch 2's checkpoint written
    (partial,) = partial_writes(run_dir)
    assert partial.name.startswith(".checkpoint.pt.")
    assert checkpoint_epoch(run_dir) == 1  # the real file is epoch 1's, whole

    assert main(run_args(path)) == 0
    assert record(run_dir)["status"] == "finished" and record(run_dir)["epochs"] == 2
    assert checkpoint_epoch(run_dir) == 2 and not partial_writes(run_dir)
    assert [line["epoch"] for line in metric_lines(run_dir)] == [1, 2]


@pytest.fixture
def one_thread():
    """Two processes on a two-core machine: one thread each, or they spin-wait on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_two_shards_of_a_matrix_at_once(write_yaml, minimal_synth_root, tmp_path, one_thread):
    spec = tiny_experiment(**SMALL, data__root=str(minimal_synth_root))
    spec["matrix"] = {"model.method": ["tsn", "tsm"]}
    path = write_yaml("matrix.yaml", spec)
    other = start(run_args(path, "--shard", "1/2"), tmp_path / "shard1.log")
    assert main(run_args(path, "--shard", "0/2")) == 0  # while the other shard runs
    assert other.wait(timeout=300) == 0, (tmp_path / "shard1.log").read_text()
    other.stdout.close()
    run_dirs = [folder for folder in (tmp_path / "runs").iterdir() if folder.is_dir()]
    assert sorted(record(folder)["method"] for folder in run_dirs) == ["tsm", "tsn"]
    for folder in run_dirs:
        assert record(folder)["status"] == "finished" and record(folder)["epochs"] == 1
        assert checkpoint_epoch(folder) == 1 and len(metric_lines(folder)) == 1
        assert not partial_writes(folder)


HOLD_LOCK = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+")
fcntl.lockf(handle, fcntl.LOCK_EX)
handle.write("pid held-by-test\\n")
handle.flush()
print("locked", flush=True)
time.sleep(600)
"""


def test_an_experiment_running_elsewhere_is_left_alone_until_its_process_dies(experiment, tmp_path,
                                                                              caplog, capsys):
    path, run_dir = experiment()
    (loaded,) = load_plans([path])
    lock = RunStore(run_dir.parent).lock_file(loaded)
    lock.parent.mkdir()
    holder = start([str(lock)], tmp_path / "holder.log", code=HOLD_LOCK)
    assert holder.stdout.readline().strip() == "locked", (tmp_path / "holder.log").read_text()

    # The one experiment asked for was not run: a distinct exit status says so.
    assert main(run_args(path)) == 75
    assert "held-by-test is running it" in caplog.text
    assert f"{loaded.id} is being run by another process" in capsys.readouterr().err
    assert not run_dir.exists()

    kill(holder)  # the kernel drops a dead process's lock: no stale lock to clean up
    assert main(run_args(path)) == 0
    assert record(run_dir)["status"] == "finished"


def poison_loss(monkeypatch) -> None:
    """Two training batches per epoch: from the third training forward pass on, NaN logits."""
    build, calls = actionbench.runner.build_network, []

    def hook(module, inputs, output):
        calls.append(module.training)
        return output * float("nan") if module.training and calls.count(True) > 2 else output

    def poisoned(spec):
        model = build(spec)
        model.register_forward_hook(hook)
        return model

    monkeypatch.setattr(actionbench.runner, "build_network", poisoned)


def poison_weights(monkeypatch) -> None:
    """After the fourth optimiser step (the last of epoch 2) one weight is infinite, while every
    loss reported so far was finite: only a check of the weights stops the checkpoint."""
    build, steps = actionbench.engine.train.build_optimizer, []

    def hook(optimizer, args, kwargs):
        steps.append(1)
        if len(steps) == 4:
            with torch.no_grad():
                optimizer.param_groups[0]["params"][0].view(-1)[0] = float("inf")

    def poisoned(*args, **kwargs):
        optimizer = build(*args, **kwargs)
        optimizer.register_step_post_hook(hook)
        return optimizer

    monkeypatch.setattr(actionbench.engine.train, "build_optimizer", poisoned)


@pytest.mark.parametrize("poison, reason", [(poison_loss, "loss became nan in epoch 2"),
                                            (poison_weights, "weights became NaN or infinite in epoch 2")])
def test_divergence_fails_the_run_and_keeps_the_last_good_checkpoint(experiment, monkeypatch,
                                                                      poison, reason):
    path, run_dir = experiment(train__epochs=2)
    poison(monkeypatch)
    assert main(run_args(path)) == 1
    result = record(run_dir)
    assert result["status"] == "failed" and reason in result["reason"]
    assert checkpoint_epoch(run_dir) == 1  # epoch 1's weights, all finite


def break_data(root: Path) -> dict[str, Path]:
    """One unreadable sample of each kind: found up front, and found on decoding."""
    frame = root / "frames/train/move_left/000000" / synthmotion.TEMPLATE.format(2)
    frame.write_bytes(b"")
    truncated = root / "frames/val/move_right/000000" / synthmotion.TEMPLATE.format(3)
    truncated.write_bytes(truncated.read_bytes()[:100])
    missing = root / "frames/val/move_left/000000"
    shutil.rmtree(missing)
    return {"empty": frame, "truncated": truncated, "missing": missing}


def test_unreadable_samples_fail_by_default_and_are_skipped_and_counted_on_request(
        experiment, minimal_synth_root, tmp_path, capsys, caplog):
    data = tmp_path / "broken"
    shutil.copytree(minimal_synth_root, data)
    broken = break_data(data)
    path, run_dir = experiment(data__root=str(data), train__epochs=2, data__workers=2)

    assert main(run_args(path)) == 2
    err = capsys.readouterr().err
    assert f"{data / 'val.txt'}:1: frame folder {broken['missing']} not found" in err
    assert "Traceback" not in err

    assert main(run_args(path, "--set", "data.on_error=skip")) == 0
    result = record(run_dir)  # on_error is not part of the id: the same run folder
    assert result["status"] == "finished" and result["skipped_samples"] == 3
    for file in broken.values():
        assert sum(str(file) in line for line in result["skipped_files"]) == 1
        assert sum(str(file) in message for message in caplog.messages if "skipping" in message) == 1
    assert [line["epoch"] for line in metric_lines(run_dir)] == [1, 2]


# ------------------------------------------------------------------ signals and dead processes


def children(pid: int) -> list[int]:
    """The processes `pid` forked (its DataLoader workers)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(map(alive, pids))


def lock_is_free(run_dir: Path, path: Path) -> bool:
    from actionbench.core.locks import file_lock

    (loaded,) = load_plans([path])
    with file_lock(RunStore(run_dir.parent).lock_file(loaded), wait=False) as holder:
        return holder is None


WORKERS = {"data__workers": 2, "train__batch_size": 2}
"""Five iterations an epoch, each batch loaded by one of two worker processes."""


@pytest.mark.slow
@pytest.mark.parametrize("signum, group", [(signal.SIGTERM, False), (signal.SIGINT, True),
                                           (signal.SIGUSR1, False)])
def test_a_stop_signal_ends_the_run_with_its_status_a_checkpoint_and_no_process_left(
        experiment, tmp_path, signum, group):
    """SIGTERM and SIGUSR1 to the main process alone (`kill PID`, Slurm), SIGINT to the process
    group (Ctrl-C): stopped within seconds at an iteration boundary, status 128 + signal."""
    path, run_dir = experiment(train__epochs=3, **WORKERS)
    log = tmp_path / "stopped.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, str(REPO / "benchmark.py"), *run_args(path)], cwd=REPO,
                                   env=ENV, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    wait_for(lambda: (run_dir / "checkpoint.pt").exists(), process, log)
    workers = children(process.pid)
    assert len(workers) == 2
    sent = time.monotonic()
    (os.killpg if group else os.kill)(process.pid, signum)
    assert process.wait(timeout=120) == 128 + signum
    assert time.monotonic() - sent < 60, "the stop should come at the next iteration boundary"
    name = signal.Signals(signum).name
    last = log.read_text().strip().splitlines()[-1]
    assert last.startswith(f"stopped by {name} in epoch ") and last.endswith("`run` again resumes")
    assert gone_within(workers, 5) and lock_is_free(run_dir, path)
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert state["iteration"] > 0 or state["epoch"] > 1  # written at the stop, not the epoch's
    assert not (run_dir / "result.json").exists()
    if signum == signal.SIGTERM:
        assert main(run_args(path)) == 0
        assert record(run_dir)["status"] == "finished" and record(run_dir)["epochs"] == 3


@pytest.mark.slow
def test_kill_9_with_workers_does_not_block_the_rerun(experiment, tmp_path):
    """The killed run's workers die with it, and its lock with it: the rerun trains at once."""
    path, run_dir = experiment(train__epochs=2, **WORKERS)
    log = tmp_path / "killed.log"
    process = start(run_args(path), log)
    wait_for(lambda: (run_dir / "checkpoint.pt").exists(), process, log)
    workers = children(process.pid)
    kill(process)
    assert lock_is_free(run_dir, path)  # at once, though a worker may take a moment to die
    assert gone_within(workers, 5)
    assert main(run_args(path)) == 0
    assert record(run_dir)["status"] == "finished" and record(run_dir)["epochs"] == 2


KILL_A_WORKER = """
import os, signal, sys
import actionbench.engine.train as train

original, calls = train.train_step, []

def step(*args, **kwargs):
    calls.append(1)
    if len(calls) == 3:  # epoch 1 of 5 iterations: while the workers load the next batches
        os.kill(int(open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()[0]),
                signal.SIGKILL)
    return original(*args, **kwargs)

train.train_step = step
from actionbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_worker_killed_like_the_oom_killer_does_fails_the_run_in_one_line(experiment, tmp_path):
    path, run_dir = experiment(train__epochs=2, **WORKERS)
    log = tmp_path / "oom.log"
    process = start(run_args(path), log, code=KILL_A_WORKER)
    assert process.wait(timeout=300) == 1, log.read_text()
    process.stdout.close()
    text = log.read_text()
    assert "Traceback" not in text
    result = record(run_dir)
    assert result["status"] == "failed"
    assert "DataLoader worker (pid " in result["reason"] and "killed by signal Killed" in result["reason"]
    assert "out-of-memory killer" in result["reason"] and "lower data.workers" in result["reason"]
    assert main(run_args(path)) == 0  # a failed run is retried, from its checkpoint when it has one
    assert record(run_dir)["status"] == "finished"


def test_an_interrupted_forced_rerun_keeps_the_finished_record(experiment, monkeypatch):
    path, run_dir = experiment()
    assert main(run_args(path)) == 0
    finished = (run_dir / "result.json").read_text()

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        raise actionbench.engine.train.TrainingInterrupted(signal.SIGTERM, "in the test")

    monkeypatch.setattr(actionbench.runner, "fit", interrupted)
    assert main(run_args(path, "--force")) == 128 + signal.SIGTERM
    assert (run_dir / "result.json").read_text() == finished
    assert not (run_dir / "checkpoint.pt").exists()  # the forced rerun started over
    monkeypatch.undo()
    assert main(run_args(path)) == 0  # skipped: the finished record stands
    assert (run_dir / "result.json").read_text() == finished


def test_a_non_utf8_byte_in_the_metrics_log_does_not_stop_the_run(experiment, tmp_path):
    path, run_dir = experiment(train__epochs=2)
    process = start(run_args(path), tmp_path / "killed.log")
    wait_for(lambda: (run_dir / "checkpoint.pt").exists(), process, tmp_path / "killed.log")
    kill(process)
    with open(run_dir / "metrics.jsonl", "ab") as log:
        log.write(b'{"epoch": 2, "note": "\xff"}\n\x80\x81\n')
    assert main(run_args(path)) == 0
    assert record(run_dir)["status"] == "finished"
    assert [line["epoch"] for line in metric_lines(run_dir)] == [1, 2]  # the damaged lines are gone


@pytest.fixture
def tmpfs(tmp_path):
    """mount(size) -> a tmpfs folder (needs root, as CI runs); remount(options) changes it."""
    mounts = []

    def mount(size: str) -> Path:
        folder = tmp_path / f"mnt{len(mounts)}"
        folder.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]).returncode:
            pytest.skip("cannot mount a tmpfs here (needs root)")
        mounts.append(folder)
        return folder

    yield mount
    for folder in mounts:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)


def test_a_full_disk_stops_the_run_in_one_line_and_keeps_the_last_checkpoint(experiment, tmpfs, capsys):
    path, run_dir = experiment(train__epochs=2)
    runs = tmpfs("130m")  # room for one ResNet-18 checkpoint (90 MB), not for a second beside it
    args = ["run", str(path), "--runs", str(runs), "--device", "cpu"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    run_dir = runs / run_dir.name
    assert err.startswith(f"error: no space left on {run_dir} while writing checkpoint.pt")
    assert checkpoint_epoch(run_dir) == 1 and not partial_writes(run_dir)
    remount(runs, "size=400m")  # space freed
    assert main(args) == 0
    assert record(run_dir)["status"] == "finished" and checkpoint_epoch(run_dir) == 2


def test_a_read_only_store_of_finished_runs_is_read_and_a_read_only_dataset_used(
        experiment, minimal_synth_root, tmpfs, tmp_path, capsys):
    path, run_dir = experiment()
    assert main(run_args(path)) == 0
    store = tmpfs("200m")
    shutil.copytree(run_dir.parent, store / "runs")
    shutil.copytree(minimal_synth_root, store / "data")
    remount(store, "ro")
    assert main(["run", str(path), "--runs", str(store / "runs"), "--device", "cpu"]) == 0  # skipped
    assert main(["report", str(store / "runs"), "-o", str(tmp_path / "report")]) == 0
    other, other_dir = experiment(train__lr=0.02, data__root=str(store / "data"))
    assert main(run_args(other)) == 0  # a complete dataset in a read-only folder: no lock needed
    assert main(["run", str(other), "--runs", str(store / "runs"), "--device", "cpu"]) == 2
    assert f"cannot create the lock file {store / 'runs'}" in capsys.readouterr().err
