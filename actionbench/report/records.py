"""Run folders -> one row per experiment, the single table every part of the report reads.

Shards from several machines and reruns hold several records of one experiment id: the newest
finished record wins, because a later failure or an interrupted rerun must not hide a good
result. An experiment with no finished record keeps its newest failed record, or, when it has
none, its unfinished run folder (config.yaml but no result.json), so the report can list it
apart with the reason instead of dropping it silently.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..core.errors import UserError
from ..store.metrics_log import read_metrics
from ..store.record import (
    CONFIG_FILE,
    FAILED,
    FINISHED,
    RESULT_FILE,
    UNFINISHED,
    DamagedRecord,
    RunRecord,
    read_record,
    unfinished_record,
)

log = logging.getLogger(__name__)

STATUS_RANK = {UNFINISHED: 0, FAILED: 1, FINISHED: 2}
RECONSTRUCTED_MARK = "†"
PAPER_FIELDS = ("top1", "top5", "gflops", "params_m", "views", "source")


def load_experiments(paths: list[Path]) -> pd.DataFrame:
    """Every experiment under `paths`, one row each, sorted by dataset then inference cost.

    Nested record fields become dotted columns (`paper.top1`, `provenance.git_commit`); the
    derived columns are described in `_derive`. `frame.attrs` keeps how many records were read,
    how many a newer record of the same id replaced, and the damaged files (path, problem),
    which are left out: one damaged folder does not stop a report of hundreds."""
    missing = [str(path) for path in map(Path, paths) if not path.exists()]
    if missing:
        raise UserError(f"run folder not found: {', '.join(missing)}")
    records, damaged = read_runs(paths)
    if not records:
        raise UserError(f"no result records (result.json) found under: {', '.join(map(str, paths))}")
    frame = pd.json_normalize([record.model_dump(mode="json") | {"run_dir": str(folder)}
                               for folder, record in records], sep=".")
    # A field that is null in one record and a mapping in another (`paper`) leaves an empty
    # column beside its dotted children.
    frame = frame.drop(columns=[column for column in frame.columns
                                if any(other.startswith(column + ".") for other in frame.columns)])
    newest = _newest_per_id(frame)
    newest.attrs.update(read=len(frame), superseded=len(frame) - len(newest),
                        damaged=[(str(error.path), error.problem) for error in damaged])
    return _derive(newest)


def read_runs(paths: list[Path]) -> tuple[list[tuple[Path, RunRecord]], list[DamagedRecord]]:
    """(run folder, record) for every run folder under `paths`: its result.json, or what its
    config.yaml says of a run without one; and the files that could not be read."""
    records, damaged = [], []
    for folder in _run_folders(paths):
        try:
            record = read_record(folder / RESULT_FILE)
            if record is None:
                record = unfinished_record(folder, len(read_metrics(folder)))
        except DamagedRecord as error:
            log.warning("skipped a damaged run folder: %s", error)
            damaged.append(error)
            continue
        records.append((folder, record))
    return records, damaged


def _run_folders(paths: list[Path]) -> list[Path]:
    """Folders holding a record or a resolved config (a record file may be named directly)."""
    folders = set()
    for path in map(Path, paths):
        if path.is_file():
            folders.add(path.parent)
            continue
        for name in (RESULT_FILE, CONFIG_FILE):
            folders.update(found.parent for found in path.rglob(name))
    return sorted(folders)


def _newest_per_id(frame: pd.DataFrame) -> pd.DataFrame:
    rank = frame["status"].map(STATUS_RANK).fillna(-1)
    finished_at = pd.to_datetime(frame.get("provenance.finished"), utc=True, format="ISO8601")
    order = frame.assign(_rank=rank, _at=finished_at).sort_values(["_rank", "_at"], na_position="first")
    return order.drop_duplicates("id", keep="last").drop(columns=["_rank", "_at"])


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds the columns the tables and figures share:

    label          method name, with † for methods reconstructed from a description
    views_label    test views as the papers write them, clips × crops
    gflops_video   inference cost of one video: GFLOPs per view × views (the sort key)
    delta_top1     ours − published, in points
    delta_gflops_pct, delta_params_pct   ours − published, in % of the published figure
    """
    frame = frame.copy()
    for field in PAPER_FIELDS:
        frame[f"paper.{field}"] = frame.get(f"paper.{field}")
    numeric = ["top1", "top5", "gflops", "params_m", "latency_ms", "throughput", "clips", "crops", "views"]
    for column in numeric + ["reconstructed", "family"]:
        frame[column] = frame.get(column)
    numeric += [f"paper.{field}" for field in ("top1", "top5", "gflops", "params_m")]
    frame[numeric] = frame[numeric].apply(pd.to_numeric)
    reconstructed = frame["reconstructed"].astype("boolean").fillna(False)
    frame["label"] = frame["method"].fillna("?") + reconstructed.map({True: RECONSTRUCTED_MARK, False: ""})
    frame["views_label"] = [f"{clips:.0f}×{crops:.0f}" if pd.notna(clips) and pd.notna(crops) else "—"
                            for clips, crops in zip(frame["clips"], frame["crops"])]
    frame["gflops_video"] = frame["gflops"] * frame["views"]
    frame["delta_top1"] = frame["top1"] - frame["paper.top1"]
    frame["delta_gflops_pct"] = 100 * (frame["gflops"] / frame["paper.gflops"] - 1)
    frame["delta_params_pct"] = 100 * (frame["params_m"] / frame["paper.params_m"] - 1)
    frame["dataset"] = frame["dataset"].fillna("unknown dataset")
    frame["family"] = frame["family"].fillna("other")
    frame = frame.sort_values(["dataset", "gflops_video", "top1", "label"],
                              ascending=[True, True, False, True], na_position="last")
    return frame.reset_index(drop=True)
