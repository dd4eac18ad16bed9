"""Records -> pandas DataFrame -> one Markdown table per dataset (via tabulate)."""

from __future__ import annotations

import pandas as pd

RECONSTRUCTED_MARK = "†"
RECONSTRUCTED_NOTE = ("† reconstructed from the description: no code or paper text was "
                      "available, only the abstract; not the authors' model.")
COLUMNS = {
    "label": "method", "backbone": "backbone", "frames": "frames", "views": "views",
    "top1": "top-1 (%)", "top5": "top-5 (%)", "gflops": "GFLOPs/view", "params_m": "params (M)",
    "latency_ms": "latency (ms/clip)", "throughput": "clips/s", "device": "device",
    "paper_top1": "paper top-1", "delta_top1": "Δ top-1",
}


def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per experiment id: the newest record wins (shards and reruns merge cleanly)."""
    frame = pd.json_normalize(records, sep="_")
    if "paper_top1" not in frame:
        frame["paper_top1"] = None
    frame["delta_top1"] = frame["top1"] - pd.to_numeric(frame["paper_top1"])
    frame = frame.sort_values("provenance_finished").drop_duplicates("id", keep="last")
    if "reconstructed" not in frame:
        frame["reconstructed"] = False
    frame["label"] = frame["method"] + frame["reconstructed"].fillna(False).map(
        {True: RECONSTRUCTED_MARK, False: ""})
    return frame.sort_values(["dataset", "gflops", "method"]).reset_index(drop=True)


def render_markdown(frame: pd.DataFrame, figures: list[str]) -> str:
    lines = ["# actionbench report", ""]
    for dataset, rows in frame.groupby("dataset", sort=True):
        finished = rows[rows["status"] == "finished"]
        lines += [f"## {dataset}", "", _table(finished), ""]
        if finished["reconstructed"].fillna(False).any():
            lines += [RECONSTRUCTED_NOTE, ""]
        failed = rows[rows["status"] != "finished"]
        if len(failed):
            lines += ["Failed:", ""]
            lines += [f"- {row.name_}: {row.reason}" for row in failed.rename(
                columns={"name": "name_"}).itertuples()]
            lines.append("")
    lines += ["## Figures", ""] + [f"![{name}]({name})" for name in figures] + [""]
    lines += ["## Provenance", "", _provenance(frame), ""]
    return "\n".join(lines)


DIGITS = {"gflops": ".3f", "throughput": ".1f"}


def _table(rows: pd.DataFrame) -> str:
    """Paper columns appear only when some experiment has published numbers."""
    present = [column for column in COLUMNS if column in rows
               and not (column in ("paper_top1", "delta_top1") and rows[column].isna().all())]
    table = rows[present].astype(object).where(rows[present].notna(), None)
    return table.rename(columns=COLUMNS).to_markdown(
        index=False, floatfmt=[DIGITS.get(column, ".2f") for column in present], missingval="—")


def _provenance(frame: pd.DataFrame) -> str:
    dirty = frame.get("provenance_git_dirty", pd.Series(False, index=frame.index)).fillna(False)
    commits = sorted({str(commit)[:10] + (" (with local changes)" if changed else "")
                      for commit, changed in zip(frame.get("provenance_git_commit", []), dirty)})
    torch_versions = sorted(set(frame.get("provenance_versions_torch", [])))
    devices = sorted(set(frame["device"]))
    return (f"Commits: {', '.join(commits)}. torch: {', '.join(torch_versions)}. "
            f"Devices: {', '.join(devices)}. Generated from {len(frame)} result records.")
