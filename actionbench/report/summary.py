"""The one line per dataset a reader wants first: the best accuracy, and the cheapest model that
comes within a point of it (often the better choice in practice)."""

from __future__ import annotations

import pandas as pd

from ..store.record import FINISHED
from .tables import frames, gflops, with_interval

WITHIN_POINTS = 1.0


def describe(row: pd.Series) -> str:
    views = f"{row['views_label']} views" if row["views"] != 1 else "1 view"
    return (f"{row['label']} {row['backbone']}, {frames(row)} frames, {views}, "
            f"{gflops(row['gflops_video'])} GFLOPs per video")


def summary_line(dataset: str, rows: pd.DataFrame) -> str:
    finished = rows[(rows["status"] == FINISHED) & rows["top1"].notna()]
    if finished.empty:
        return f"**{dataset}**: no finished experiment yet."
    best = finished.sort_values(["top1", "gflops_video"], ascending=[False, True]).iloc[0]
    near = finished[finished["top1"] >= best["top1"] - WITHIN_POINTS]
    cheapest = near.sort_values(["gflops_video", "top1"], ascending=[True, False]).iloc[0]
    line = f"**{dataset}**: best top-1 {with_interval(best, 'top1')} % ({describe(best)}); "
    if cheapest["id"] == best["id"]:
        return line + f"no model within {WITHIN_POINTS:g} point of it is cheaper."
    return (line + f"cheapest within {WITHIN_POINTS:g} point: {with_interval(cheapest, 'top1')} % "
            f"({describe(cheapest)}, {_saving(best['gflops_video'], cheapest['gflops_video'])}).")


def _saving(more: float, less: float) -> str:
    ratio = more / less
    return f"{ratio:.1f}× fewer GFLOPs" if ratio >= 2 else f"{100 * (1 - 1 / ratio):.1f} % fewer GFLOPs"
