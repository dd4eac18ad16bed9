"""File locks die with the process that took them, even when it forked children that outlive
it (DataLoader workers), and a process never takes (and so never silently drops) its own lock
twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actionbench.core.errors import UserError
from actionbench.core.locks import file_lock

HOLD_AND_FORK = """
import multiprocessing, sys, time
from actionbench.core.locks import file_lock

def child():
    time.sleep(600)

with file_lock(sys.argv[1]):
    worker = multiprocessing.get_context("fork").Process(target=child, daemon=True)
    worker.start()
    print(worker.pid, flush=True)
    time.sleep(600)
"""


def test_a_killed_holder_releases_the_lock_though_its_forked_child_lives_on(tmp_path):
    lock = tmp_path / ".x.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_AND_FORK, str(lock)], stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).resolve().parents[1])
    child = int(holder.stdout.readline())
    with file_lock(lock, wait=False) as other:
        assert other.startswith(f"pid {holder.pid} on ")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    try:
        os.kill(child, 0)  # the child that shares the lock file's descriptor is still alive
        with file_lock(lock, wait=False) as other:
            assert other is None  # ... and yet the lock is free at once
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_lock_this_process_holds_is_reported_as_held_and_kept(tmp_path):
    lock = tmp_path / ".x.lock"
    with file_lock(lock, wait=False) as first:
        assert first is None
        with file_lock(lock, wait=False) as second:
            assert second == f"this process (pid {os.getpid()})"
        with pytest.raises(RuntimeError, match="already holds"):
            with file_lock(lock):
                pass
        # the inner attempts closed nothing: another process still finds the lock held
        code = "import fcntl, sys; fcntl.lockf(open(sys.argv[1], 'a'), fcntl.LOCK_EX | fcntl.LOCK_NB)"
        probe = subprocess.run([sys.executable, "-c", code, str(lock)], capture_output=True, text=True)
        assert probe.returncode != 0 and "Resource temporarily unavailable" in probe.stderr
    with file_lock(lock, wait=False) as again:
        assert again is None


def test_a_lock_that_cannot_be_created_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be\n")
    with pytest.raises(UserError, match=f"cannot create the lock file {blocker}/.x.lock"):
        with file_lock(blocker / ".x.lock", wait=False):
            pass


def test_waiting_for_a_lock_returns_once_the_holder_lets_go(tmp_path):
    lock = tmp_path / ".x.lock"
    code = ("import sys, time\nfrom actionbench.core.locks import file_lock\n"
            "with file_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(1.5)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    with file_lock(lock) as held:
        assert held is None and time.monotonic() - started > 0.5
    holder.wait()
    holder.stdout.close()
