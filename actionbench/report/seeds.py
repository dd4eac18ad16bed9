"""Seed rows: finished runs whose resolved configs differ only in `train.seed` (and in the name a
matrix derives from it) are one experiment trained several times, and the tables show them as
one row. A matrix over seeds asks for it: `matrix: {train.seed: [0, 1, 2]}`.

The per-run frame gains `seed_group` (the id of the group's run with the lowest seed, which
stands for the group in the pairwise tests), `seeds` (the group's size) and the group's
`top1_seed_mean` and `top1_seed_std` (sample standard deviation); `merge_seeds` then makes the
table rows, each group's accuracies and interval bounds averaged over its runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import yaml

from ..plan.plan import FIELDS_OUTSIDE_ID
from ..store.record import CONFIG_FILE, FINISHED
from .statistics import METRICS, seed_groups, summarise_seeds
from .uncertainty import INTERVAL_COLUMNS

log = logging.getLogger(__name__)

GROUP, SEEDS, SEED_MEAN, SEED_STD = "seed_group", "seeds", "top1_seed_mean", "top1_seed_std"
AVERAGED = [*METRICS, *INTERVAL_COLUMNS]


def with_seed_groups(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame[GROUP], frame[SEEDS] = frame["id"], 1
    frame[SEED_MEAN], frame[SEED_STD] = frame["top1"], float("nan")
    specs = {row["id"]: spec for _, row in frame[frame["status"] == FINISHED].iterrows()
             if (spec := _grouping_spec(row)) is not None}
    by_id = frame.reset_index().set_index("id")["index"]
    for group in seed_groups(specs):
        if len(group) < 2:
            continue
        group = sorted(group, key=lambda run: specs[run]["train"].get("seed", 0))
        rows = by_id[group]
        summary = summarise_seeds(frame.loc[rows, "top1"])
        frame.loc[rows, GROUP] = group[0]
        frame.loc[rows, SEEDS] = summary.n
        frame.loc[rows, SEED_MEAN] = summary.mean
        frame.loc[rows, SEED_STD] = summary.std
    return frame


def merge_seeds(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per seed group (the representative's row, with the accuracies averaged over the
    group), in the frame's order of representatives; other rows unchanged."""
    members = frame.groupby(GROUP, sort=False)[AVERAGED].mean()
    rows = frame[frame["id"] == frame[GROUP]].copy()
    grouped = rows[SEEDS] > 1
    rows.loc[grouped, AVERAGED] = members.loc[rows.loc[grouped, "id"]].to_numpy()
    rows = rows.sort_values(["dataset", "gflops_video", "top1", "label"], ascending=[True, True, False, True],
                            na_position="last")
    return rows.reset_index(drop=True)


def _grouping_spec(row: pd.Series) -> dict | None:
    """The run's resolved config without the fields that do not change a result, plus the
    weights file an `eval` run evaluated (its config is the trained run's but for the name)."""
    path = Path(row["run_dir"]) / CONFIG_FILE
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        log.warning("%s: not grouped with its seeds (%s)", path, type(exc).__name__)
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("train"), dict):
        return None
    spec = _without(spec, FIELDS_OUTSIDE_ID)
    spec["weights"] = row.get("weights.sha256") if pd.notna(row.get("weights.sha256")) else None
    return spec


def _without(spec: dict, fields: dict) -> dict:
    """`spec` less `fields`, pydantic's exclude mapping ({section: True or a set of keys})."""
    kept = {}
    for key, value in spec.items():
        excluded = fields.get(key)
        if excluded is True:
            continue
        kept[key] = ({name: item for name, item in value.items() if name not in excluded}
                     if excluded and isinstance(value, dict) else value)
    return kept
