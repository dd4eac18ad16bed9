"""Stop signals: SIGINT, SIGTERM and SIGUSR1 become a stop request that training honours at the
next iteration boundary, after a checkpoint, and after an evaluation or a checkpoint write in
progress; a resumed run then ends exactly as an uninterrupted one. A second SIGINT/SIGTERM
kills at once, and DataLoader workers neither react to these signals nor outlive their parent.

In-process runs on the session's tiny synthmotion (20 clips, batch 4: 5 iterations an epoch).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_experiment

from actionbench.config import load_plans
from actionbench.core import signals
from actionbench.core.model_input import to_model_input
from actionbench.data.loader import build_loaders
from actionbench.engine import train as train_module
from actionbench.engine.checkpoint import read_checkpoint
from actionbench.engine.train import CHECKPOINT_FILE, TrainingInterrupted, fit
from actionbench.models import build_network

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def plan(tmp_path_factory, synth_root):
    folder = tmp_path_factory.mktemp("signals")
    path = folder / "exp.yaml"
    import yaml

    path.write_text(yaml.safe_dump(tiny_experiment(data__root=str(synth_root), train__epochs=2,
                                                   train__batch_size=4, train__dropout=0.3)))
    (loaded,) = load_plans([path])
    return loaded


def train(plan, run_dir: Path, signal_at: int | None = None, signum: int = signal.SIGTERM):
    """fit() as a fresh process runs it, inside `deferred_stop`; with `signal_at`, the process
    sends itself `signum` during that training forward pass (1-based, over the run)."""
    device = torch.device("cpu")
    train_loader, val_loader = build_loaders(plan, device=device)
    model = build_network(plan)
    passes = []

    def send(module, inputs, output):
        if module.training:
            passes.append(1)
            if len(passes) == signal_at:
                os.kill(os.getpid(), signum)
        return output

    model.register_forward_hook(send)
    lines = []
    with signals.deferred_stop():
        metrics = fit(model, train_loader, val_loader, plan, device, run_dir,
                      to_input=lambda videos: to_model_input(videos, device), on_epoch=lines.append)
    return model.state_dict(), metrics, lines


@pytest.fixture(scope="module")
def uninterrupted(plan, tmp_path_factory):
    return train(plan, tmp_path_factory.mktemp("straight"))


@pytest.mark.parametrize("signum, at, iteration", [
    (signal.SIGTERM, 7, 2),   # mid-epoch 2
    (signal.SIGUSR1, 2, 2),   # mid-epoch 1
    (signal.SIGINT, 5, 5),    # the last iteration of epoch 1, before its evaluation
])
def test_a_stop_signal_checkpoints_at_the_next_boundary_and_the_rerun_ends_as_if_uninterrupted(
        plan, uninterrupted, tmp_path, signum, at, iteration):
    with pytest.raises(TrainingInterrupted) as stop:
        train(plan, tmp_path, signal_at=at, signum=signum)
    assert stop.value.signum == signum
    epoch = (at - 1) // 5
    assert str(stop.value).startswith(f"stopped by {signal.Signals(signum).name} in epoch {epoch + 1}, "
                                      f"after iteration {iteration} of 5")
    state = read_checkpoint(tmp_path / CHECKPOINT_FILE)
    assert (state["epoch"], state["iteration"]) == (epoch, iteration)
    assert signal.getsignal(signum) is not signals._on_signal and signals.stop_requested() is None

    weights, metrics, lines = train(plan, tmp_path)
    reference_weights, reference_metrics, reference_lines = uninterrupted
    assert [line["epoch"] for line in lines] == list(range(epoch + 1, 3))
    for name, tensor in reference_weights.items():
        assert torch.equal(tensor, weights[name]), name
    for key in ("top1", "val_loss", "train_loss", "lr"):
        assert metrics[key] == reference_metrics[key], key


def test_a_signal_during_evaluation_lets_it_finish_then_stops_after_the_epoch_checkpoint(
        plan, tmp_path, monkeypatch):
    real_evaluate, evaluated = train_module.evaluate, []

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        evaluated.append(real_evaluate(*args, **kwargs))  # runs to its end despite the signal
        return evaluated[-1]

    monkeypatch.setattr(train_module, "evaluate", signalled)
    with pytest.raises(TrainingInterrupted, match="stopped by SIGTERM after epoch 1, with its checkpoint"):
        train(plan, tmp_path)
    assert len(evaluated) == 1 and evaluated[0]["val_videos"] == 10
    state = read_checkpoint(tmp_path / CHECKPOINT_FILE)
    assert (state["epoch"], state["iteration"], state["metrics"]["top1"]) == (1, 0, evaluated[0]["top1"])


def test_a_signal_during_a_checkpoint_write_lets_it_complete_then_stops(plan, tmp_path, monkeypatch):
    real_save = train_module.save_checkpoint

    def signalled(path, *args):
        os.kill(os.getpid(), signal.SIGUSR1)
        real_save(path, *args)

    monkeypatch.setattr(train_module, "save_checkpoint", signalled)  # the first is epoch 1's
    with pytest.raises(TrainingInterrupted, match="SIGUSR1 after epoch 1"):
        train(plan, tmp_path)
    assert read_checkpoint(tmp_path / CHECKPOINT_FILE)["epoch"] == 1


SECOND_SIGNAL = """
import os, signal, sys, time
from actionbench.core.signals import deferred_stop, stop_requested
with deferred_stop():
    os.kill(os.getpid(), signal.SIGUSR1)
    os.kill(os.getpid(), signal.SIGUSR1)   # a repeated warning changes nothing
    time.sleep(0.1)
    print(stop_requested(), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)   # a second stop signal: killed at once
    time.sleep(5)
    print("still alive", flush=True)
"""


def test_a_second_sigint_or_sigterm_kills_at_once():
    done = subprocess.run([sys.executable, "-c", SECOND_SIGNAL], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == -signal.SIGTERM
    assert done.stdout.split() == [str(int(signal.SIGUSR1))]
    assert "SIGUSR1 received: stopping at the next iteration boundary" in done.stderr
    assert "SIGTERM received again: stopping at once" in done.stderr


DETACHED_WORKER = """
import functools, multiprocessing, os, signal, time
from actionbench.core.signals import detach_worker

def work():
    detach_worker(PARENT)
    os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C to the process group does to a worker
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(600)

PARENT = os.getpid()
worker = multiprocessing.get_context("fork").Process(target=work)
worker.start()
time.sleep(1)
print(worker.pid, worker.is_alive(), flush=True)
time.sleep(600)
"""


def test_a_detached_worker_ignores_stop_signals_and_dies_with_its_parent():
    parent = subprocess.Popen([sys.executable, "-c", DETACHED_WORKER], stdout=subprocess.PIPE, text=True,
                              cwd=REPO)
    pid, alive = parent.stdout.readline().split()
    assert alive == "True"  # SIGINT and SIGTERM were ignored
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while _alive(int(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
