"""Published against ours: per experiment with a `paper:` block, a hollow marker at the published
value and a filled one at ours, joined by a line, with the difference in a column at the right;
one panel per quantity the papers give (top-1, GFLOPs, parameters)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from .intervals import top1_error_bars
from .style import FigureFile, family_colour, family_handles, new_figure, point_labels, save

LEGEND_IN = 0.3


def points(ours: float, paper: float) -> str:
    return f"{ours - paper:+.1f}"


def percent(ours: float, paper: float) -> str:
    return f"{100 * (ours / paper - 1):+.1f} %"


QUANTITIES = [  # column, published column, axis label, how the difference is written
    ("top1", "paper.top1", "top-1 accuracy (%)", points),
    ("gflops", "paper.gflops", "GFLOPs per view", percent),
    ("params_m", "paper.params_m", "parameters (M)", percent),
]


def has_paper_numbers(rows: pd.DataFrame) -> bool:
    return any(rows[published].notna().any() for _, published, _, _ in QUANTITIES)


def plot_published_vs_ours(rows: pd.DataFrame, dataset: str, path: Path) -> FigureFile:
    rows = rows[rows[[published for _, published, _, _ in QUANTITIES]].notna().any(axis=1)]
    panels = [quantity for quantity in QUANTITIES if rows[quantity[1]].notna().any()]
    labels, shared = point_labels(rows)
    height = 1.5 + 0.32 * len(rows)
    fig, axes = new_figure(height, columns=len(panels))
    positions = list(range(len(rows)))[::-1]  # the table's first row at the top
    for ax, (ours, published, axis_label, difference) in zip(axes, panels):
        for y, (_, row) in zip(positions, rows.iterrows()):
            if pd.isna(row[published]):
                continue
            ax.plot([row[published], row[ours]], [y, y], color="0.6", lw=1, zorder=1)
            ax.scatter([row[published]], [y], s=60, marker="D", facecolors="white", edgecolors="black",
                       zorder=2)
            if pd.notna(row[ours]):
                ax.scatter([row[ours]], [y], s=22, color=family_colour(row["family"]), edgecolors="black",
                           linewidths=0.5, zorder=3)
                ax.annotate(difference(row[ours], row[published]), (1, y), xycoords=("axes fraction", "data"),
                            xytext=(-3, 0), textcoords="offset points", ha="right", va="center", fontsize=7.5)
        if ours == "top1":
            top1_error_bars(ax, pd.Series(positions, index=rows.index), rows, horizontal=True)
        ax.set_xlabel(axis_label)
        ax.set_yticks(positions, labels if ax is axes[0] else [""] * len(labels))
        ax.set_ylim(-0.7, len(rows) - 0.3)
        _leave_room_for_differences(ax, pd.concat([rows[ours], rows[published]]).dropna())
    fig.suptitle(f"{dataset}: published (◇) vs ours (●); right: ours − published"
                 + (f"; {shared}" if shared else ""), fontsize=9)
    published_handle = Line2D([], [], ls="", marker="D", color="white", markeredgecolor="black",
                              label="published")
    fig.legend(handles=family_handles(list(rows["family"]), prefix="ours, ") + [published_handle],
               loc="lower center", ncols=3, frameon=False)
    fig.tight_layout(rect=(0, LEGEND_IN / height, 1, 1))
    return save(fig, path)


def _leave_room_for_differences(ax: Axes, values: pd.Series) -> None:
    """The differences are a right-aligned column inside each panel; keep the points clear of it."""
    low, high = values.min(), values.max()
    span = high - low or abs(high) * 0.1 or 1.0
    ax.set_xlim(low - 0.15 * span, high + 0.75 * span)
