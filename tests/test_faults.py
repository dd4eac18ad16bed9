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
import io, sys, time
import actionbench.core.atomic as atomic

NAME, NTH = sys.argv.pop(1), int(sys.argv.pop(1))
original, seen = atomic.atomic_write, []

def stalling(path, write):
    seen.append(path.name)
    if path.name != NAME or seen.count(NAME) != NTH:
        return original(path, write)

    def half_then_hang(handle):
        buffer = io.BytesIO()
        write(buffer)
        handle.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        handle.flush()
        print("stalled", flush=True)
        time.sleep(600)

    return original(path, half_then_hang)

atomic.atomic_write = stalling
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
fcntl.flock(handle, fcntl.LOCK_EX)
handle.write("pid held-by-test\\n")
handle.flush()
print("locked", flush=True)
time.sleep(600)
"""


def test_an_experiment_running_elsewhere_is_left_alone_until_its_process_dies(experiment, tmp_path,
                                                                              caplog):
    path, run_dir = experiment()
    (loaded,) = load_plans([path])
    lock = RunStore(run_dir.parent).lock_file(loaded)
    lock.parent.mkdir()
    holder = start([str(lock)], tmp_path / "holder.log", code=HOLD_LOCK)
    assert holder.stdout.readline().strip() == "locked", (tmp_path / "holder.log").read_text()

    assert main(run_args(path)) == 0  # not a failure: the other process will write the result
    assert "held-by-test is running it" in caplog.text
    assert not run_dir.exists()

    kill(holder)  # the kernel drops a dead process's flock: no stale lock to clean up
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
