"""Everything the report says beyond the records' own fields, worked out once: the predictions
behind the rows, each row's intervals, the seed groups and the table rows they merge into, and
per dataset the pairwise comparisons."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..store.record import FINISHED
from .evidence import Evidence, load_evidence
from .pairwise import Comparisons, compare_rows
from .seeds import merge_seeds, with_seed_groups
from .uncertainty import with_intervals


@dataclass(frozen=True)
class Analysis:
    runs: pd.DataFrame
    """One row per experiment, with its intervals and seed group: results.csv."""
    rows: pd.DataFrame
    """The tables' rows: `runs` with each seed group merged into one row."""
    evidence: Evidence
    comparisons: dict[str, Comparisons]
    """By dataset, for the datasets with two rows or more on one video list."""


def analyse(frame: pd.DataFrame) -> Analysis:
    """`frame`: `records.load_experiments`'s."""
    evidence = load_evidence(frame)
    runs = with_seed_groups(with_intervals(frame, evidence))
    rows = merge_seeds(runs)
    rows.attrs = dict(frame.attrs)
    comparisons = {}
    for dataset, group in rows.groupby("dataset"):
        found = compare_rows(group[group["status"] == FINISHED], evidence)
        if found is not None:
            comparisons[dataset] = found
    return Analysis(runs, rows, evidence, comparisons)
