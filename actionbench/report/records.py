"""Run folders -> one row per experiment, the single table every part of the report reads.

Shards from several machines and reruns hold several records of one experiment id: the newest
finished record wins, because a later failure or an interrupted rerun must not hide a good
result. An experiment with no finished record keeps its newest failed record, or, when it has
none, its unfinished run folder (config.yaml but no result.json), so the report can list it
apart with the reason instead of dropping it silently.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import yaml

from ..errors import UserError
from ..results import CONFIG_FILE, FAILED, FINISHED, METRICS_FILE, RESULT_FILE, load_records

log = logging.getLogger(__name__)

UNFINISHED = "unfinished"
STATUS_RANK = {UNFINISHED: 0, FAILED: 1, FINISHED: 2}
RECONSTRUCTED_MARK = "†"
PAPER_FIELDS = ("top1", "top5", "gflops", "params_m", "views", "source")


def load_experiments(paths: list[Path]) -> pd.DataFrame:
    """Every experiment under `paths`, one row each, sorted by dataset then inference cost.

    Nested record fields become dotted columns (`paper.top1`, `provenance.git_commit`); the
    derived columns are described in `_derive`. `frame.attrs` keeps how many records were read
    and how many a newer record of the same id replaced."""
    missing = [str(path) for path in map(Path, paths) if not path.exists()]
    if missing:
        raise UserError(f"run folder not found: {', '.join(missing)}")
    records = load_records(paths) + [unfinished_record(folder) for folder in unfinished_folders(paths)]
    if not records:
        raise UserError(f"no result records (result.json) found under: {', '.join(map(str, paths))}")
    frame = pd.json_normalize(records, sep=".")
    # A field that is null in one record and a mapping in another (`paper`) leaves an empty
    # column beside its dotted children.
    frame = frame.drop(columns=[column for column in frame.columns
                                if any(other.startswith(column + ".") for other in frame.columns)])
    newest = _newest_per_id(frame)
    newest.attrs.update(read=len(frame), superseded=len(frame) - len(newest))
    return _derive(newest)


def unfinished_folders(paths: list[Path]) -> list[Path]:
    """Run folders that hold a resolved config but no result yet (running or interrupted)."""
    folders = {config.parent for path in map(Path, paths) if path.is_dir()
               for config in path.rglob(CONFIG_FILE)}
    return sorted(folder for folder in folders if not (folder / RESULT_FILE).exists())


def unfinished_record(folder: Path) -> dict:
    """What the run folder's config says about the experiment, and how far it got."""
    path = folder / CONFIG_FILE
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not a readable run config: {exc}") from None
    model, data, train, evaluate = (config.get(key) or {} for key in ("model", "data", "train", "eval"))
    epochs = len(read_metrics(folder))
    planned = f" of {train['epochs']}" if "epochs" in train else ""
    clips, crops = evaluate.get("clips", 1), evaluate.get("crops", 1)
    return {"id": folder.name, "name": config.get("name", folder.name), "method": model.get("method"),
            "backbone": model.get("backbone"), "dataset": data.get("dataset"),
            "frames": data.get("frames"), "clips": clips, "crops": crops, "views": clips * crops,
            "epochs": epochs, "status": UNFINISHED, "run_dir": str(folder),
            "reason": f"no {RESULT_FILE} yet; {epochs}{planned} epochs in {METRICS_FILE}"}


def read_metrics(run_dir: Path) -> pd.DataFrame:
    """The per-epoch metrics of a run folder, one row per epoch (the last line wins when a
    resumed run logged an epoch twice); a line cut short by a killed run is skipped."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return pd.DataFrame()
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("%s:%d: skipped an unreadable metrics line", path, number)
    frame = pd.DataFrame(rows)
    if "epoch" in frame:
        frame = frame.drop_duplicates("epoch", keep="last").sort_values("epoch")
    return frame.reset_index(drop=True)


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
