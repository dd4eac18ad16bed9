"""What every figure shares: paper-size fonts, one colour per method family, point labels that
avoid each other (as many as stay readable), and saving without a display (figures are built
on a plain matplotlib Figure with the Agg canvas, never through pyplot's global state)."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from ...plan.registry import FAMILIES as REGISTERED_FAMILIES

WIDTH_IN = 6.4
"""About a paper's text width: at 100 % the fonts below print at their nominal size."""
DPI = 200
RC = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8,
      "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.grid": True, "grid.alpha": 0.3}
COLOURS = {"2D": "tab:blue", "3D": "tab:orange", "transformer": "tab:green", "fusion": "tab:purple"}
FAMILIES = {family: (label, COLOURS[family]) for family, label in REGISTERED_FAMILIES.items()} | {
    "fusion": ("late fusion of several runs", COLOURS["fusion"])}
OTHER_FAMILY = ("other", "tab:gray")
MARKERS = "osD^vP*Xph<>"


@dataclass(frozen=True)
class FigureFile:
    path: Path
    points: int
    """Data points drawn (scatter offsets and line markers): what tests check."""


def family_colour(family: str) -> str:
    return FAMILIES.get(family, OTHER_FAMILY)[1]


def family_handles(families: list[str], prefix: str = "") -> list[Line2D]:
    """Legend entries for the families present, in a fixed order."""
    return [Line2D([], [], ls="", marker="o", markersize=7, color=family_colour(family),
                   markeredgecolor="black", markeredgewidth=0.5,
                   label=prefix + FAMILIES.get(family, OTHER_FAMILY)[0]) for family in sorted(set(families))]


def new_figure(height: float, columns: int = 1, dpi: int = DPI) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(WIDTH_IN, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, columns, index + 1) for index in range(columns)]


def save(fig: Figure, path: Path) -> FigureFile:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return FigureFile(path, count_points(fig))


def count_points(fig: Figure) -> int:
    points = 0
    for ax in fig.axes:
        points += sum(len(collection.get_offsets()) for collection in ax.collections
                      if isinstance(collection, PathCollection))  # markers, not error bars
        points += sum(len(line.get_xdata()) for line in ax.lines
                      if line.get_marker() not in (None, "", "None"))
    return points


def short_backbone(name: str) -> str:
    """resnet50 -> R50, as the papers' tables write it; a network that is its own backbone
    (S3D: 'none') shows no backbone."""
    if name in ("none", "None") or pd.isna(name):
        return ""
    return re.sub(r"^resnet(\d+)$", r"R\1", str(name))


ATTRIBUTES = {  # column: (as a point label, as a shared description)
    "backbone": (lambda row: short_backbone(row["backbone"]), lambda row: short_backbone(row["backbone"])),
    "frames": (lambda row: f"{row['frames']:.0f}f", lambda row: f"{row['frames']:.0f} frames"),
    "views_label": (lambda row: row["views_label"], lambda row: f"{row['views_label']} views"),
}


def point_labels(rows: pd.DataFrame) -> tuple[list[str], str]:
    """Short labels naming only what differs between the rows (method, and backbone, frames or
    views where they vary), plus a phrase naming what they all share, for the title. Rows that
    would read alike are named by their experiment name instead."""
    varying = [key for key in ATTRIBUTES if rows[key].nunique(dropna=False) > 1]
    labels = [" ".join(filter(None, [row["label"]] + [ATTRIBUTES[key][0](row) for key in varying]))
              for _, row in rows.iterrows()]
    if len(set(labels)) < len(labels):
        labels = list(rows["name"])
    first = rows.iloc[0]
    shared = [ATTRIBUTES[key][1](first) for key in ATTRIBUTES if key not in varying]
    return labels, ", ".join(filter(None, shared))


def cost_axis(ax: Axes, values: pd.Series, ratio: float = 20) -> None:
    """A log x axis when the values span more than `ratio`× (models from 0.1 to 100 GFLOPs);
    otherwise a linear one from 0, so that distances read as ratios, with room for the labels
    right of the largest value."""
    values = values[values > 0]
    if len(values) and values.max() / values.min() > ratio:
        ax.set_xscale("log")
        ax.margins(x=0.15)
    else:
        ax.set_xlim(0, 1.2 * values.max() if len(values) else 1)


def leader(marker_radius_pt: float) -> dict:
    """A thin line from a label to its marker's edge."""
    return {"arrowstyle": "-", "lw": 0.5, "color": "0.4", "shrinkA": 1, "shrinkB": marker_radius_pt}


# Label positions tried around a point: unit directions, near the marker first, then further
# out; the first free one is taken.
DIRECTIONS = [(1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1), (0, -1), (1, 0), (-1, 0)]
DISTANCES = (1.0, 2.6)
ALIGN_X = {1: "left", 0: "center", -1: "right"}
ALIGN_Y = {1: "bottom", 0: "center", -1: "top"}


MAX_LABELS = 40
"""Labels one figure carries: beyond a few dozen they cover each other and the points, and
placing each among thousands of others costs seconds."""


def label_points(ax: Axes, xs: list[float], ys: list[float], texts: list[str],
                 radii_pt: list[float], fontsize: float = 7.5) -> int:
    """Annotate the points, trying positions around each and keeping the one that covers the
    fewest other labels (weighted 3×) and markers and stays inside the axes; a thin leader line
    ties a label to its marker. With more than MAX_LABELS points only the MAX_LABELS most
    accurate (highest y) are labelled. Returns how many were. Call it once the axes' limits and
    the figure layout are final, since it works in display coordinates."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    scale = fig.dpi / 72
    centres = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.zeros((0, 2))
    half = np.asarray(radii_pt, dtype=float) * scale
    markers = np.column_stack([centres - half[:, None], centres + half[:, None]])  # x0, y0, x1, y1
    inside = ax.get_window_extent(renderer)
    order = sorted(range(len(xs)), key=lambda index: (-ys[index], xs[index]))[:MAX_LABELS]
    placed = np.zeros((0, 4))
    for index in order:
        others = np.delete(markers, index, axis=0)
        best = None
        for distance, (dx, dy) in itertools.product(DISTANCES, DIRECTIONS):
            gap = (radii_pt[index] + 3) * distance * (0.75 if dx and dy else 1.0)
            annotation = ax.annotate(texts[index], (xs[index], ys[index]), xytext=(dx * gap, dy * gap),
                                     textcoords="offset points", fontsize=fontsize, ha=ALIGN_X[dx],
                                     va=ALIGN_Y[dy], arrowprops=leader(radii_pt[index]))
            annotation.update_positions(renderer)
            box = Text.get_window_extent(annotation, renderer)  # the text alone, not its leader
            extents = np.array([box.x0, box.y0, box.x1, box.y1])
            cost = (3 * _overlaps(extents, placed) + _overlaps(extents, others)
                    + 4 * (_area(box) - _overlap(box, inside)))
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, annotation, extents)
            else:
                annotation.remove()
            if cost == 0:
                break
        placed = np.vstack([placed, best[2]])
    return len(order)


def _overlaps(box: np.ndarray, boxes: np.ndarray) -> float:
    """Total area of `box` (x0, y0, x1, y1) covered by each of `boxes`, counted per box."""
    width = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    height = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    return float((np.clip(width, 0, None) * np.clip(height, 0, None)).sum())


def label_line_ends(ax: Axes, xs: list[float], ys: list[float], texts: list[str],
                    fontsize: float = 7.5) -> None:
    """Name each line right of its last point; names at the same x are pushed apart vertically
    so that none overlap, each tied to its point by a leader line. Call it once the layout is
    final."""
    scale = ax.figure.dpi / 72
    spacing = fontsize * 1.25 * scale
    for x in sorted(set(xs)):
        group = sorted((ax.transData.transform((x, y))[1], y, text)
                       for x_, y, text in zip(xs, ys, texts) if x_ == x)
        wanted = [display for display, _, _ in group]
        placed = list(wanted)
        for index in range(1, len(placed)):
            placed[index] = max(placed[index], placed[index - 1] + spacing)
        shift = (sum(placed) - sum(wanted)) / len(placed)  # centre the column on the points
        for (display, y, text), position in zip(group, placed):
            ax.annotate(text, (x, y), xytext=(10, (position - shift - display) / scale),
                        textcoords="offset points", fontsize=fontsize, va="center", ha="left",
                        arrowprops=leader(4))


def _area(box: Bbox) -> float:
    return box.width * box.height


def _overlap(a: Bbox, b: Bbox) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0) * max(height, 0)


def bubble_radius_pt(area_pt2: float) -> float:
    """Radius in points of a scatter marker of area `area_pt2` (matplotlib's `s`)."""
    return math.sqrt(area_pt2) / 2
