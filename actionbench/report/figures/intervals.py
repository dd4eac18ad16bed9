"""Error bars: each point's 95 % bootstrap interval of top-1 over videos (`report/uncertainty.py`;
for a seed row, the mean of its runs' bounds), drawn as thin lines without caps, behind the
markers. The interval is a percentile one, so the bars may be asymmetric."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes

from ..uncertainty import bounds

COLOUR = "0.25"
CAPTION = "bars: 95 % bootstrap interval over videos"


def has_intervals(rows: pd.DataFrame) -> bool:
    low, _ = bounds("top1")
    return low in rows and rows[low].notna().any()


def top1_error_bars(ax: Axes, position: pd.Series, rows: pd.DataFrame, horizontal: bool = False) -> None:
    """Bars at `position` (the other coordinate of each row's point), along the top-1 axis."""
    if not has_intervals(rows):
        return
    low, high = bounds("top1")
    shown = rows[low].notna()
    rows, position = rows[shown], position[shown]
    extent = [rows["top1"] - rows[low], rows[high] - rows["top1"]]
    style = dict(fmt="none", ecolor=COLOUR, elinewidth=0.8, zorder=1.5)
    if horizontal:
        ax.errorbar(rows["top1"], position, xerr=extent, **style)
    else:
        ax.errorbar(position, rows["top1"], yerr=extent, **style)
