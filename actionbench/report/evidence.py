"""The per-video predictions behind the finished rows of a report: what the intervals, the
pairwise tests and the per-class tables are computed from.

Each record names its predictions file and digest (`store/run_predictions.py`); a file that is
missing, altered or disagrees with its record's top-1 is left out with the reason, so one bad
file costs one row its interval, not the report. Records written before predictions were saved
have none, and their rows show no interval.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core.errors import UserError
from ..store.predictions import Predictions, read_predictions
from ..store.record import FINISHED

log = logging.getLogger(__name__)

AGREEMENT = 1e-6
"""How far (in points) the file's top-1 may be from its record's: only rounding."""


@dataclass(frozen=True)
class Evidence:
    predictions: dict[str, Predictions] = field(default_factory=dict)
    """By run id, without the per-view scores (the report needs only the video scores)."""
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(run id, why its predictions are not used)."""


def load_evidence(frame: pd.DataFrame) -> Evidence:
    evidence = Evidence()
    if "predictions.file" not in frame:
        return evidence
    named = frame[(frame["status"] == FINISHED) & frame["predictions.file"].notna()]
    for _, row in named.iterrows():
        path = Path(row["run_dir"]) / row["predictions.file"]
        try:
            predictions = read_predictions(path, row["predictions.sha256"])
        except UserError as exc:
            evidence.problems.append((row["id"], str(exc)))
            continue
        top1 = predictions.metrics()["top1"]
        if abs(top1 - row["top1"]) > AGREEMENT:
            evidence.problems.append((row["id"], f"{path}: its top-1 {top1:.4f} is not the record's "
                                                 f"{row['top1']:.4f}"))
            continue
        evidence.predictions[row["id"]] = Predictions(predictions.scores, predictions.labels,
                                                      predictions.video_ids, predictions.kind,
                                                      class_names=predictions.class_names)
    for run, problem in evidence.problems:
        log.warning("predictions of %s not used: %s", run, problem)
    return evidence
