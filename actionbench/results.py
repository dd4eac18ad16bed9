"""Result records and the run store: `runs/<id>/` holds everything about one experiment.

    runs/<id>/config.yaml     the resolved spec
    runs/<id>/metrics.jsonl   one JSON object per epoch
    runs/<id>/checkpoint.pt   the last epoch's state (for resuming)
    runs/<id>/result.json     the record, written atomically when the run ends
    runs/.<id>.lock           held (flock) by the process running the experiment
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import logging
import platform
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .atomic import remove_partial_writes, write_json, write_text
from .config import Experiment
from .data.catalog import get_dataset
from .errors import UserError
from .locks import file_lock
from .models.registry import get_method

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
FINISHED = "finished"
FAILED = "failed"
BUSY = "running elsewhere"
"""Not a record's status: what `run_experiment` returns when another process holds the run."""


class RunStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def run_dir(self, experiment: Experiment) -> Path:
        path = (self.root / experiment.id).resolve()
        if path.parent != self.root.resolve():
            raise UserError(f"experiment name '{experiment.spec.name}': its run folder would "
                            f"leave the runs folder {self.root}")
        return path

    @contextmanager
    def claim(self, experiment: Experiment) -> Iterator[str | None]:
        """Hold the experiment's lock for the block, so that two processes (shards that
        overlap, a run started twice) never write one run folder at once. Yields None when
        held, or, without waiting, who holds it. A killed holder releases it (flock)."""
        with file_lock(self.lock_file(experiment), wait=False) as holder:
            yield holder

    def lock_file(self, experiment: Experiment) -> Path:
        """Beside the run folder, not in it: `--force` deletes the folder with the lock held."""
        return self.root / f".{experiment.id}.lock"

    def finished(self, experiment: Experiment) -> dict | None:
        record = read_record(self.run_dir(experiment) / RESULT_FILE)
        return record if record and record.get("status") == FINISHED else None

    def start(self, experiment: Experiment) -> Path:
        """Create the run folder (with the claim held): write the resolved config and delete
        what a killed run's interrupted writes left behind."""
        run_dir = self.run_dir(experiment)
        run_dir.mkdir(parents=True, exist_ok=True)
        for partial in remove_partial_writes(run_dir):
            log.info("removed %s, left by an interrupted write", partial)
        resolved = experiment.spec.model_dump(mode="json")
        write_text(run_dir / CONFIG_FILE, yaml.safe_dump(resolved, sort_keys=False))
        return run_dir


def read_record(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def append_metrics(run_dir: Path, metrics: dict) -> None:
    """Add one epoch's line. The file is rewritten atomically with the complete lines of the
    earlier epochs only: an epoch that a killed run logged but did not checkpoint is run
    again on resume, and its new line replaces the old one."""
    path = Path(run_dir) / METRICS_FILE
    epoch, kept = metrics.get("epoch"), []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                earlier = json.loads(line)
            except json.JSONDecodeError:
                continue
            if epoch is None or not isinstance(earlier, dict) or earlier.get("epoch", 0) < epoch:
                kept.append(line)
    write_text(path, "".join(f"{line}\n" for line in [*kept, json.dumps(metrics)]))


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


def provenance(seed: int, started: str) -> dict[str, Any]:
    commit, dirty = git_commit()
    return {"git_commit": commit, "git_dirty": dirty, "versions": package_versions(),
            "host": platform.node(), "platform": platform.platform(), "seed": seed,
            "started": started, "finished": now()}


def build_record(experiment: Experiment, *, status: str, device: str, metrics: dict,
                 cost: dict, started: str, wall_time_s: float, reason: str | None = None,
                 epochs_done: int = 0, skips: dict[str, Any] | None = None) -> dict[str, Any]:
    """`skips`: `FaultPolicy.summary()` of the run's data (`skipped_samples`, `skipped_files`)."""
    spec = experiment.spec
    method = get_method(spec.model.method)
    return {
        "id": experiment.id,
        "name": spec.name,
        "source": experiment.source,
        "method": spec.model.method,
        "family": method.family,
        "reconstructed": method.reconstructed,
        "backbone": spec.model.backbone,
        "dataset": spec.data.dataset,
        "num_classes": get_dataset(spec.data.dataset).num_classes,
        "frames": spec.data.frames,
        "input_size": spec.data.input_size,
        "clips": spec.eval.clips,
        "crops": spec.eval.crops,
        "views": spec.views,
        "top1": metrics.get("top1"),
        "top5": metrics.get("top5"),
        "mean_class_acc": metrics.get("mean_class_acc"),
        "epochs": epochs_done,
        "wall_time_s": wall_time_s,
        "device": device,
        "status": status,
        "reason": reason,
        **{"skipped_samples": 0, "skipped_files": [], **(skips or {})},
        **cost,
        "paper": spec.paper.model_dump() if spec.paper else None,
        "provenance": provenance(spec.train.seed, started),
    }


def write_record(run_dir: Path, record: dict) -> Path:
    path = Path(run_dir) / RESULT_FILE
    write_json(path, record)
    return path


def load_records(paths: list[Path]) -> list[dict]:
    """Every result.json under `paths` (folders searched recursively, or record files)."""
    records = []
    for path in map(Path, paths):
        files = sorted(path.rglob(RESULT_FILE)) if path.is_dir() else [path]
        for file in files:
            record = read_record(file)
            if record is not None:
                record["run_dir"] = str(file.parent)
                records.append(record)
    return records
