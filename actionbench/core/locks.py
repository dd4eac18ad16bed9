"""Advisory file locks between processes that share a runs folder or a data folder.

`fcntl.flock` rather than a create-exclusive marker file: the kernel drops the lock when the
holding process dies, so a run killed with -9 never leaves a lock that blocks the next one.
The lock file itself stays (empty of meaning once unlocked) and holds the holder's pid and
host, for the message of whoever finds it taken.
"""

from __future__ import annotations

import fcntl
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path, wait: bool = True) -> Iterator[str | None]:
    """Hold an exclusive lock on `path` for the block; yields None once it is held.

    With `wait=False` and the lock held elsewhere, yields at once the holder's description
    ('pid 123 on host') without taking it, and the caller decides what to do instead."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
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
            fcntl.flock(handle, fcntl.LOCK_UN)
