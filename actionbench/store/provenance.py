"""Where a result comes from: the code (commit, local changes), the versions, the machine and
the times, recorded with every run so that a number in a table can be traced back."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ..core.version import __version__


class Provenance(BaseModel):
    model_config = ConfigDict(extra="allow")

    git_commit: str | None = None
    git_dirty: bool | None = None
    """True when the checkout had uncommitted changes to tracked files."""
    versions: dict[str, str] = {}
    host: str | None = None
    platform: str | None = None
    seed: int | None = None
    started: str | None = None
    finished: str | None = None


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def git_commit() -> tuple[str | None, bool | None]:
    """(commit of the actionbench checkout, whether it has uncommitted changes)."""
    cwd = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(dirty.strip())


def package_versions() -> dict[str, str]:
    """Installed versions; torch's carries its build tag (e.g. +cu132)."""
    import torch

    versions = {"python": sys.version.split()[0], "actionbench": __version__,
                "torch": torch.__version__, "cuda": torch.version.cuda or "none"}
    for package in ("torchvision", "fvcore", "numpy", "pydantic"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "missing"
    return versions


def provenance(seed: int, started: str) -> Provenance:
    commit, dirty = git_commit()
    return Provenance(git_commit=commit, git_dirty=dirty, versions=package_versions(),
                      host=platform.node(), platform=platform.platform(), seed=seed,
                      started=started, finished=now())
