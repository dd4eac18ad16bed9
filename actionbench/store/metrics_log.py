"""`metrics.jsonl`: one JSON object per epoch, the source of the training curves.

One reader with one rule for every consumer: the last line of an epoch wins (a resumed run
repeats the epochs after its checkpoint), and a line that is not a complete JSON object with
an epoch (cut short by a killed run, or damaged) is skipped, so a damaged line can never make
a run unfinishable or a report fail.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..core.atomic import write_text

METRICS_FILE = "metrics.jsonl"
log = logging.getLogger(__name__)


def read_metrics(run_dir: Path) -> list[dict]:
    """The run's epochs, in order, one dict each."""
    path = Path(run_dir) / METRICS_FILE
    try:
        lines = path.read_bytes().splitlines()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return []
    epochs: dict[int, dict] = {}
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            entry = None
        if not isinstance(entry, dict) or not isinstance(entry.get("epoch"), int):
            if line.strip():
                log.warning("%s:%d: skipped an unreadable metrics line", path, number)
            continue
        epochs[entry["epoch"]] = entry
    return [epochs[epoch] for epoch in sorted(epochs)]


def append_metrics(run_dir: Path, metrics: dict) -> None:
    """Add one epoch's line. The file is rewritten atomically with the earlier epochs only: an
    epoch that a killed run logged but did not checkpoint is run again on resume, and its new
    line replaces the old one."""
    kept = [entry for entry in read_metrics(run_dir) if entry["epoch"] < metrics["epoch"]]
    write_text(Path(run_dir) / METRICS_FILE,
               "".join(json.dumps(entry) + "\n" for entry in [*kept, metrics]))
