"""Records -> pandas DataFrame -> one Markdown table per dataset (via tabulate)."""

from __future__ import annotations

import pandas as pd

COLUMNS = {
    "method": "method", "backbone": "backbone", "frames": "frames", "views": "views",
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
    return frame.sort_values(["dataset", "gflops", "method"]).reset_index(drop=True)


def render_markdown(frame: pd.DataFrame, figures: list[str]) -> str:
    lines = ["# actionbench report", ""]
    for dataset, rows in frame.groupby("dataset", sort=True):
        finished = rows[rows["status"] == "finished"]
        lines += [f"## {dataset}", "", _table(finished), ""]
        failed = rows[rows["status"] != "finished"]
        if len(failed):
            lines += ["Failed:", ""]
            lines += [f"- {row.name_}: {row.reason}" for row in failed.rename(
                columns={"name": "name_"}).itertuples()]
            lines.append("")
    lines += ["## Figures", ""] + [f"![{name}]({name})" for name in figures] + [""]
    lines += ["## Provenance", "", _provenance(frame), ""]
    return "\n".join(lines)


def _table(rows: pd.DataFrame) -> str:
    present = [column for column in COLUMNS if column in rows]
    table = rows[present].rename(columns=COLUMNS)
    return table.to_markdown(index=False, floatfmt=".2f", missingval="—")


def _provenance(frame: pd.DataFrame) -> str:
    commits = sorted({str(commit)[:10] for commit in frame.get("provenance_git_commit", [])})
    torch_versions = sorted(set(frame.get("provenance_versions_torch", [])))
    devices = sorted(set(frame["device"]))
    return (f"Commits: {', '.join(commits)}. torch: {', '.join(torch_versions)}. "
            f"Devices: {', '.join(devices)}. Generated from {len(frame)} result records.")
