"""Accuracy against a cost axis, one point per finished experiment of one dataset: against
GFLOPs with bubble area ∝ parameters (as in the TSM and ESTI papers' figures), and against
measured throughput."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from .intervals import top1_error_bars
from .style import (
    MARKERS,
    FigureFile,
    bubble_radius_pt,
    cost_axis,
    family_colour,
    family_handles,
    label_points,
    new_figure,
    point_labels,
    save,
)

LARGEST_BUBBLE_PT2 = 600
PLAIN_MARKER_PT2 = 60


def plot_accuracy_vs_gflops(rows: pd.DataFrame, dataset: str, path: Path) -> FigureFile:
    rows = rows[rows["gflops"].notna() & rows["top1"].notna()]
    scale = LARGEST_BUBBLE_PT2 / max(rows["params_m"].max(), 1e-9)
    sizes = (rows["params_m"].fillna(0) * scale).clip(lower=PLAIN_MARKER_PT2 / 2)
    fig, (ax,) = new_figure(4.8)
    labels, shared = point_labels(rows)
    for family, group in rows.groupby("family"):
        ax.scatter(group["gflops"], group["top1"], s=sizes[group.index], color=family_colour(family),
                   alpha=0.5, edgecolors="black", linewidths=0.6, zorder=2)
    top1_error_bars(ax, rows["gflops"], rows)
    ax.set_xlabel("GFLOPs per view (multiply-adds, one clip × one crop)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(_title(dataset, shared) + "; bubble area ∝ parameters")
    sizes_legend = [Line2D([], [], ls="", marker="o", markersize=(params * scale) ** 0.5, color="white",
                           markeredgecolor="black", label=f"{params:.1f} M params")
                    for params in sorted({rows["params_m"].min(), rows["params_m"].max()})]
    _finish(ax, rows, "gflops", labels, sizes, family_handles(list(rows["family"])) + sizes_legend)
    return save(fig, path)


def plot_accuracy_vs_throughput(rows: pd.DataFrame, dataset: str, path: Path) -> FigureFile:
    """Throughput measured on different devices is not comparable: each device gets its own
    marker, and the legend names it."""
    rows = rows[rows["throughput"].notna() & rows["top1"].notna()]
    devices = rows["cost_device"].fillna(rows["device"]) if "cost_device" in rows else rows["device"]
    fig, (ax,) = new_figure(4.8)
    labels, shared = point_labels(rows)
    handles = family_handles(list(rows["family"]))
    for number, (device, on_device) in enumerate(rows.groupby(devices)):
        marker = MARKERS[number % len(MARKERS)]
        for family, group in on_device.groupby("family"):
            ax.scatter(group["throughput"], group["top1"], s=PLAIN_MARKER_PT2, marker=marker,
                       color=family_colour(family), edgecolors="black", linewidths=0.6, zorder=2)
        handles.append(Line2D([], [], ls="", marker=marker, color="white", markeredgecolor="black",
                              label=f"on {device}"))
    top1_error_bars(ax, rows["throughput"], rows)
    batches = sorted(rows.get("throughput_batch", pd.Series()).dropna().astype(int).unique())
    batch = f" at batch {', '.join(map(str, batches))}" if batches else ""
    ax.set_xlabel(f"throughput (clips per second{batch}, one view per clip)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(_title(dataset, shared) + "; right is faster")
    _finish(ax, rows, "throughput", labels, pd.Series(PLAIN_MARKER_PT2, index=rows.index), handles)
    return save(fig, path)


def _title(dataset: str, shared: str) -> str:
    return f"{dataset}" + (f" ({shared})" if shared else "")


def _finish(ax: Axes, rows: pd.DataFrame, x: str, labels: list[str], sizes: pd.Series, handles: list) -> None:
    """Room for the labels, the legend outside the points, then the labels (the layout must be
    final before they are placed)."""
    cost_axis(ax, rows[x])
    ax.margins(y=0.15)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=min(len(handles), 4),
              frameon=False, handlelength=2.5, handletextpad=0.8, columnspacing=1.5)
    ax.figure.tight_layout()
    label_points(ax, list(rows[x]), list(rows["top1"]), labels, [bubble_radius_pt(size) for size in sizes])
