"""Stopping a run on request, at a moment when nothing is half done.

SIGINT (Ctrl-C), SIGTERM (`kill`, `docker stop`, a cluster's time limit) and SIGUSR1 (the
warning signal a Slurm job asks for with `--signal`) do not kill a run: inside `deferred_stop`
the first one only records a stop request, which the training loop reads at its next
iteration boundary (`engine/train.py`), after any evaluation or checkpoint write in progress
has finished. A second SIGINT or SIGTERM kills the process at once, for the user who cannot
wait; the files stay consistent even then, since every write is atomic (`atomic.py`).

DataLoader workers take no part: `detach_worker` makes each one ignore these signals (Ctrl-C
reaches the whole process group, and a worker that died of it would crash the run that is
trying to stop cleanly) and die with its parent (Linux `prctl(PR_SET_PDEATHSIG)`), so that
neither a kill of the main process nor a signal to it alone leaves workers behind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
KILL_ON_REPEAT = (signal.SIGINT, signal.SIGTERM)
"""A second one of these ends the process at once; a repeated SIGUSR1 (a warning) does not."""
PR_SET_PDEATHSIG = 1
"""From <linux/prctl.h>: the signal a process gets when the thread that forked it exits."""

_request: int | None = None
_installed = False


def stop_requested() -> int | None:
    """The number of the first stop signal received inside `deferred_stop`, or None."""
    return _request


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


@contextmanager
def deferred_stop() -> Iterator[None]:
    """Turn the stop signals into a stop request for the block (re-entrant: an inner block
    leaves the outer one's handlers alone). Outside the main thread, where Python cannot set
    handlers, signals keep their usual effect. The request is cleared when the outermost block
    ends."""
    global _installed, _request
    if _installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _on_signal) for signum in STOP_SIGNALS}
    _installed = True
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _installed, _request = False, None


def _on_signal(signum: int, frame) -> None:
    global _request
    if _request is None:
        _request = signum
        _say(f"{signal_name(signum)} received: stopping at the next iteration boundary, after a "
             f"checkpoint (send it again to stop at once)")
    elif signum in KILL_ON_REPEAT:
        _say(f"{signal_name(signum)} received again: stopping at once")
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _say(message: str) -> None:
    """Straight to stderr: a handler may run while the logging module holds its lock."""
    try:
        os.write(sys.stderr.fileno(), f"\n{message}\n".encode())
    except (OSError, ValueError, AttributeError):
        pass


def detach_worker(parent: int, worker_id: int = 0) -> None:
    """`worker_init_fn` of every DataLoader (with `functools.partial(detach_worker,
    os.getpid())`): ignore the stop signals, and be killed when the parent process `parent`
    exits, by any means."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)
