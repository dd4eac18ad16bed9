"""The `data.on_error` policy for samples that cannot be read (a missing, empty or corrupt
frame, an undecodable video).

A dataset raises `SampleError` naming the file. Raised inside a DataLoader worker, that error
would reach the user with the worker's traceback pasted into its message, and anything a
worker counted would stay in the worker. So `Guarded` catches it where it happens and returns
a `SampleFault` in the sample's place; `collate` sets the faults apart from the batch, and
`GuardedLoader`, in the main process, hands them to one `FaultPolicy` per run: `fail` raises a
clean `UserError`, `skip` drops the sample, logs it once and counts it for the result record.

A worker process that dies (the kernel's out-of-memory killer sends it SIGKILL) is a fault of
another kind: torch raises a RuntimeError in the main process, which `worker_failure` turns
into one line saying what happened and what to change.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from torch.utils.data import DataLoader, Dataset, default_collate

from ..core.errors import SampleError, UserError
from ..core.signals import detach_worker

log = logging.getLogger(__name__)

OnError = Literal["fail", "skip"]
LISTED_SKIPS = 50
"""How many skipped samples a result record names (all of them are counted)."""
WORKER_DIED = re.compile(r"DataLoader worker \(pid(?:\(s\))? ([\d, ]+)\) "
                         r"(?:is killed by signal: ([^.]+)|exited unexpectedly(?: with exit code (-?\d+))?)")
"""torch's messages for a dead worker (torch/utils/data/dataloader.py, `_try_get_data`, and
torch/csrc/DataLoader.cpp, `_error_if_any_worker_fails`)."""


@dataclass(frozen=True)
class SampleFault:
    sample: str
    """The list entry (video path): a sample drawn in every epoch is counted once."""
    message: str
    """Names the file and what is wrong with it."""


class FaultPolicy:
    """Applies `data.on_error` and remembers what was skipped, in the main process, beside the
    videos that `data.min_frames` left out of each list (a protocol's rule, not a fault, but
    the record reports both: either makes a score cover other videos than the full list)."""

    def __init__(self, on_error: OnError):
        self.on_error = on_error
        self.skipped: dict[str, str] = {}
        self.short: dict[str, int] = {"train": 0, "eval": 0}

    def drop_short(self, kind: str, count: int) -> None:
        """`count` videos of the `kind` list ('train' or 'eval') are shorter than data.min_frames."""
        self.short[kind] = count
        if count:
            log.info("%s list: left out %d videos shorter than data.min_frames", kind, count)

    def handle(self, faults: list[SampleFault]) -> None:
        if faults and self.on_error == "fail":
            more = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
            raise UserError(f"{faults[0].message}{more}; fix or remove it, or set "
                            f"data.on_error: skip to skip unreadable samples")
        for fault in faults:
            if fault.sample not in self.skipped:
                self.skipped[fault.sample] = fault.message
                log.warning("skipping %s: %s", fault.sample, fault.message)

    def summary(self) -> dict[str, Any]:
        """The result record's fields: how many samples were skipped and which, and how many
        videos each list left out for being short."""
        return {"skipped_samples": len(self.skipped),
                "skipped_files": list(self.skipped.values())[:LISTED_SKIPS],
                "videos_dropped": self.short["eval"], "train_videos_dropped": self.short["train"]}


class Guarded(Dataset):
    """`dataset` (which holds its list entries as `records`), with a sample that raises
    `SampleError` returned as a `SampleFault` instead."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        try:
            return self.dataset[index]
        except SampleError as exc:
            return SampleFault(self.dataset.records[index].path, str(exc))


def collate(items: list[Any]) -> tuple[Any, list[SampleFault]]:
    """(the usual batch of the readable samples, or None when there are none; the faults)."""
    faults = [item for item in items if isinstance(item, SampleFault)]
    samples = [item for item in items if not isinstance(item, SampleFault)]
    return (default_collate(samples) if samples else None), faults


class GuardedLoader(DataLoader):
    """A DataLoader over `Guarded(dataset)` that yields what a plain one would, minus the
    unreadable samples, after `policy` has seen them (and, under `fail`, stopped the run)."""

    def __init__(self, dataset: Dataset, policy: FaultPolicy, **kwargs: Any):
        super().__init__(Guarded(dataset), collate_fn=collate,
                         worker_init_fn=functools.partial(detach_worker, os.getpid()), **kwargs)
        self.policy = policy
        self._running = None

    def close(self) -> None:
        """Stop the worker processes now, not whenever the loader is garbage-collected (a
        traceback that is being reported keeps it alive). The loader starts new ones if it is
        iterated again."""
        for iterator in (self._running, self._iterator):
            if iterator is not None and hasattr(iterator, "_shutdown_workers"):
                iterator._shutdown_workers()
        self._running = self._iterator = None

    def __iter__(self) -> Iterator[Any]:
        delivered = False
        self._running = super().__iter__()
        for batch, faults in self._running:
            self.policy.handle(faults)
            if batch is not None:
                delivered = True
                yield batch
        if not delivered and len(self):
            raise UserError(f"every sample of a pass over the data was unreadable and skipped "
                            f"({len(self.policy.skipped)} samples), e.g. "
                            f"{next(iter(self.policy.skipped.values()))}")


def worker_failure(error: BaseException, workers: int) -> str | None:
    """One line for torch's error about a DataLoader worker that died, or None for any other
    error. A worker killed by SIGKILL was, short of a person killing it, taken by the kernel's
    out-of-memory killer."""
    found = WORKER_DIED.search(str(error)) if isinstance(error, RuntimeError) else None
    if found is None:
        return None
    pids, killed_by, code = found.groups()
    how = (f"was killed by signal {killed_by.strip()}" if killed_by
           else f"exited with code {code}" if code else "exited unexpectedly")
    likely = (", most likely by the out-of-memory killer" if killed_by and "kill" in killed_by.lower()
              else "")
    return (f"DataLoader worker (pid {pids.strip()}, one of {workers}) {how}{likely}; lower "
            f"data.workers or data.prefetch_factor (or free memory) and run again: it resumes from "
            f"the last checkpoint")
