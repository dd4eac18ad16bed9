"""Atomic writes: files readable as the umask allows, a full disk or an unwritable folder
reported in one line naming the place, and the previous file left whole in both cases."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path

import pytest
import torch

from actionbench.core import atomic
from actionbench.core.atomic import NoSpaceLeft, NotWritable, torch_save, write_text


@contextlib.contextmanager
def umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_get_the_mode_the_umask_gives(tmp_path, mask, mode):
    with umask(mask):
        write_text(tmp_path / "result.json", "{}\n")
    assert (tmp_path / "result.json").stat().st_mode & 0o777 == mode


@contextlib.contextmanager
def small_file_system(path: Path, size: str = "1m", read_only: bool = False):
    """A tmpfs of `size` at `path` (needs root, as CI runs); skips the test where mounting is
    not allowed."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True)
    if mounted.returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def test_a_full_disk_names_the_folder_and_keeps_the_previous_file(tmp_path):
    with small_file_system(tmp_path / "small", size="1m") as small:
        path = small / "checkpoint.pt"
        torch_save(path, {"weights": torch.zeros(1000)})
        before = path.read_bytes()
        with pytest.raises(NoSpaceLeft) as error:
            torch_save(path, {"weights": torch.zeros(2**20)})  # 4 MB on a 1 MB file system
        message = str(error.value)
        assert message.startswith(f"no space left on {small} while writing checkpoint.pt (4.0 MB")
        assert "previous file" in message and "enforce fail" not in message
        assert path.read_bytes() == before
        assert [entry.name for entry in small.iterdir()] == ["checkpoint.pt"]  # no temporary file left


def test_a_full_disk_is_reported_where_mounting_is_not_possible(tmp_path, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    write_text(tmp_path / "result.json", "old\n")
    monkeypatch.setattr(atomic.os, "write", full)
    with pytest.raises(NoSpaceLeft, match=f"no space left on {tmp_path} while writing result.json"):
        write_text(tmp_path / "result.json", "new\n")
    monkeypatch.undo()
    assert (tmp_path / "result.json").read_text() == "old\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["result.json"]


def test_an_unwritable_place_is_one_line_naming_it(tmp_path):
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the runs folder should be\n")
    with pytest.raises(NotWritable, match=f"cannot write {blocker}/x: not a directory"):
        write_text(blocker / "x" / "result.json", "{}\n")
    with small_file_system(tmp_path / "ro", size="1m") as mounted:
        write_text(mounted / "result.json", "{}\n")
        subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True)
        with pytest.raises(NotWritable, match=f"cannot write {mounted}/result.json: read-only file system"):
            write_text(mounted / "result.json", "[]\n")
        assert (mounted / "result.json").read_text() == "{}\n"
