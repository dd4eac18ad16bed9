"""Atomic file writes: a temporary file in the same folder, fsync, then rename.

A reader (or a run resumed after kill -9) sees either the old file or the new one, never a
half-written one. Content is produced in memory before the temporary file is opened, so a
full disk fails in `os.write` with ENOSPC, reported as `NoSpaceLeft` naming the folder, and
never inside a serialiser (torch.save's zip writer turns it into "enforce fail at
inline_container.cc"); the previous file is left whole, so a full disk costs no checkpoint.

Files are created with mode 0666 less the umask, as `open()` creates them, so that records in
a shared runs folder are readable by the people the umask lets read them (`tempfile.mkstemp`
would make every file 0600).
"""

from __future__ import annotations

import errno
import io
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import torch

from .errors import UserError

TEMP_SUFFIX = ".tmp"
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR)


class NoSpaceLeft(UserError):
    """The file system (or the user's quota) is full; nothing was replaced."""


class NotWritable(UserError):
    """The folder cannot be written: read-only, no permission, or a file where a folder should be."""


@contextmanager
def writing(path: Path, size: int | None = None) -> Iterator[None]:
    """Turn the OS errors of writing `path` that the user must act on into one-line UserErrors."""
    try:
        yield
    except OSError as exc:
        if exc.errno in NO_SPACE:
            needed = f" ({size / 2**20:.1f} MB to write)" if size else ""
            raise NoSpaceLeft(f"no space left on {Path(path).parent} while writing {Path(path).name}"
                              f"{needed}; the previous file, if any, is kept: free some space (or "
                              f"choose another folder) and run again") from None
        if exc.errno in NOT_WRITABLE:
            raise NotWritable(f"cannot write {path}: {exc.strerror.lower()}; "
                              f"expected a writable folder") from None
        raise


def make_folder(path: Path) -> Path:
    """`mkdir -p`, with a folder that cannot be made reported as a UserError."""
    path = Path(path)
    with writing(path):
        path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    buffer = io.BytesIO()
    write(buffer)
    write_bytes(path, buffer.getbuffer())


def write_bytes(path: Path, content: bytes | memoryview) -> None:
    path = Path(path)
    make_folder(path.parent)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    with writing(path, len(content)):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            os.close(fd)
            fd = None
            os.replace(tmp, path)
        except BaseException:
            if fd is not None:
                os.close(fd)
            tmp.unlink(missing_ok=True)
            raise


def remove_partial_writes(folder: Path) -> list[Path]:
    """Delete the temporary files that writers killed before their rename left in `folder`
    (only safe while no other process writes there); returns what was removed."""
    stale = sorted(Path(folder).glob(f".*{TEMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def torch_save(path: Path, obj: Any) -> None:
    atomic_write(path, lambda handle: torch.save(obj, handle))
