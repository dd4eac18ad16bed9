"""Accuracy against the number of frames, one line per method (and backbone and test views,
where they vary): how much each method gains from a longer input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .intervals import top1_error_bars
from .style import (
    MARKERS,
    FigureFile,
    family_colour,
    family_handles,
    label_line_ends,
    new_figure,
    point_labels,
    save,
    short_backbone,
)

LINE_KEYS = ["label", "backbone", "views_label"]


def plot_accuracy_vs_frames(rows: pd.DataFrame, dataset: str, path: Path) -> FigureFile:
    rows = rows[rows["frames"].notna() & rows["top1"].notna()]
    fig, (ax,) = new_figure(4.4)
    _, shared = point_labels(rows)
    ends, names = [], []
    for number, (_, line) in enumerate(rows.sort_values("frames").groupby(LINE_KEYS, sort=True)):
        first = line.iloc[0]
        ax.plot(line["frames"], line["top1"], marker=MARKERS[number % len(MARKERS)],
                color=family_colour(first["family"]), markeredgecolor="black", markeredgewidth=0.5)
        top1_error_bars(ax, line["frames"], line)
        ends.append((line["frames"].iloc[-1], line["top1"].iloc[-1]))
        names.append(_line_name(first, rows))
    frames = sorted(rows["frames"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(frames, [f"{value:.0f}" for value in frames])
    ax.minorticks_off()
    ax.margins(x=0.3, y=0.12)
    ax.set_xlabel("frames per clip (log scale)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(dataset + (f" ({shared})" if shared else ""))
    ax.legend(handles=family_handles(list(rows["family"])), loc="upper center", bbox_to_anchor=(0.5, -0.14),
              ncols=2, frameon=False)
    fig.tight_layout()
    label_line_ends(ax, [x for x, _ in ends], [y for _, y in ends], names)
    return save(fig, path)


def _line_name(row: pd.Series, rows: pd.DataFrame) -> str:
    """The method, plus the backbone and test views where the dataset has several."""
    parts = [row["label"]]
    if rows["backbone"].nunique() > 1:
        parts.append(short_backbone(row["backbone"]))
    if rows["views_label"].nunique() > 1:
        parts.append(f"{row['views_label']} views")
    return " ".join(filter(None, parts))
