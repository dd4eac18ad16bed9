"""Advisory file locks between processes that share a runs folder or a data folder.

POSIX record locks (`fcntl.lockf`), not `flock`: a POSIX lock belongs to the process that
took it and is not inherited by the processes it forks, so it dies with its owner. An `flock`
lock belongs to the open file, which forked children (DataLoader workers) share: after a
`kill -9` of a run, its workers kept the lock for seconds and the run could not be resumed
(POSIX.1-2017, fcntl(): "Locks are not inherited by a child process created using fork()";
Linux flock(2): locks "are preserved across fork").

POSIX locks have one trap: closing *any* descriptor of the file releases the process's lock.
So this module is the only code that opens lock files, and a process never opens one twice:
a lock this process already holds is reported as held, like one held elsewhere.

The lock file itself stays (empty of meaning once unlocked) and holds the holder's pid and
host, for the message of whoever finds it taken.
"""

from __future__ import annotations

import errno
import fcntl
import os
import platform
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import UserError

_held: set[Path] = set()
"""The lock files this process holds (resolved paths)."""
_guard = threading.Lock()


@contextmanager
def file_lock(path: Path, wait: bool = True) -> Iterator[str | None]:
    """Hold an exclusive lock on `path` for the block; yields None once it is held.

    With `wait=False` and the lock held elsewhere, yields at once the holder's description
    ('pid 123 on host') without taking it, and the caller decides what to do instead. A lock
    file that cannot be created (a read-only or unwritable folder) is a UserError naming it."""
    path = Path(path)
    key = path.resolve()
    with _guard:
        if key in _held:
            if wait:
                raise RuntimeError(f"{path}: this process already holds the lock; waiting would deadlock")
            mine = f"this process (pid {os.getpid()})"
        else:
            mine = None
            _held.add(key)
    if mine:
        yield mine
        return
    try:
        with _open(path) as handle:
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except OSError as exc:  # EAGAIN or EACCES when held elsewhere
                if wait or exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                handle.seek(0)
                yield handle.read().strip() or "another process"
                return
            try:
                handle.seek(0)
                handle.truncate()
                handle.write(f"pid {os.getpid()} on {platform.node()}\n")
                handle.flush()
                yield None
            finally:
                fcntl.lockf(handle, fcntl.LOCK_UN)
    finally:
        with _guard:
            _held.discard(key)


def _open(path: Path):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "a+", encoding="utf-8")
    except (FileExistsError, NotADirectoryError):  # mkdir(exist_ok=True) on a file says "exists"
        raise UserError(f"cannot create the lock file {path}: {path.parent} is not a directory") from None
    except OSError as exc:
        raise UserError(f"cannot create the lock file {path} ({exc.strerror.lower()}); the folder "
                        f"must be writable") from None
