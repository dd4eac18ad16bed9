"""The run store: one folder per experiment id under a runs folder, claimed by one process at a
time."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from ..core.atomic import make_folder, remove_partial_writes, write_text
from ..core.errors import UserError
from ..core.locks import file_lock
from ..plan.plan import Plan
from .record import CONFIG_FILE, FINISHED, RESULT_FILE, DamagedRecord, RunRecord, read_record

log = logging.getLogger(__name__)


class RunStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def run_dir(self, plan: Plan) -> Path:
        path = (self.root / plan.id).resolve()
        if path.parent != self.root.resolve():
            raise UserError(f"experiment name '{plan.name}': its run folder would leave the runs "
                            f"folder {self.root}")
        return path

    @contextmanager
    def claim(self, plan: Plan) -> Iterator[str | None]:
        """Hold the experiment's lock for the block, so that two processes (shards that
        overlap, a run started twice) never write one run folder at once. Yields None when
        held, or, without waiting, who holds it. A killed holder releases it (a POSIX lock:
        `core/locks.py`)."""
        with file_lock(self.lock_file(plan), wait=False) as holder:
            yield holder

    def lock_file(self, plan: Plan) -> Path:
        """Beside the run folder, not in it: `--force` deletes the folder with the lock held."""
        return self.root / f".{plan.id}.lock"

    def finished(self, plan: Plan) -> RunRecord | None:
        """The run's finished record, if it has one."""
        try:
            record = read_record(self.run_dir(plan) / RESULT_FILE)
        except DamagedRecord as exc:
            raise UserError(f"{exc}; move the run folder {self.run_dir(plan)} aside, or rerun "
                            f"with --force to replace it") from None
        return record if record and record.status == FINISHED else None

    def start(self, plan: Plan, fresh: bool = False) -> Path:
        """Create the run folder (with the claim held): write the resolved config and delete
        what a killed run's interrupted writes left behind. `fresh` (`--force`) deletes
        everything else too, except the record: it stays until the new one replaces it, so
        an interrupted forced rerun loses nothing."""
        run_dir = make_folder(self.run_dir(plan))
        if fresh:
            for path in run_dir.iterdir():
                if path.name != RESULT_FILE or not path.is_file():
                    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        for partial in remove_partial_writes(run_dir):
            log.info("removed %s, left by an interrupted write", partial)
        resolved = plan.spec.model_dump(mode="json")
        write_text(run_dir / CONFIG_FILE, yaml.safe_dump(resolved, sort_keys=False))
        return run_dir

    def write_record(self, run_dir: Path, record: RunRecord) -> Path:
        path = Path(run_dir) / RESULT_FILE
        write_text(path, record.to_json())
        return path
