"""Every finished row's accuracies get their 95 % bootstrap interval over videos
(`statistics.accuracy_intervals`: 1,000 resamples from seed 0, so the same predictions always
give the same interval), as `<metric>_low` / `<metric>_high` columns beside the estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evidence import Evidence
from .statistics import METRICS, accuracy_intervals


def bounds(metric: str) -> tuple[str, str]:
    return f"{metric}_low", f"{metric}_high"


INTERVAL_COLUMNS = [column for metric in METRICS for column in bounds(metric)]


def with_intervals(frame: pd.DataFrame, evidence: Evidence) -> pd.DataFrame:
    """`frame` with the interval columns; NaN for rows without usable predictions."""
    frame = frame.copy()
    for column in INTERVAL_COLUMNS:
        frame[column] = np.nan
    for index, run in frame["id"].items():
        if run in evidence.predictions:
            for metric, interval in accuracy_intervals(evidence.predictions[run]).items():
                frame.loc[index, list(bounds(metric))] = [interval.low, interval.high]
    return frame


def half_width(row: pd.Series, metric: str) -> float:
    """What '61.2 ± 0.6' prints after the ±: half the interval's width (NaN without one)."""
    low, high = bounds(metric)
    return (row[high] - row[low]) / 2 if low in row else np.nan
