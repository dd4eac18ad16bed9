"""Training curves of one experiment from its metrics.jsonl: loss and top-1 per epoch, training
beside validation, so over-fitting, divergence and an unfinished schedule are visible."""

from __future__ import annotations

from pathlib import Path
from textwrap import shorten

import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from ...store.metrics_log import read_metrics
from ...store.record import FINISHED
from .style import FigureFile, new_figure, save

CURVE_DPI = 100
"""Half the paper figures' resolution: a diagnostic read on screen, and a report draws up to
200 of them (bench/report_scaling.py), whose cost grows with the pixels."""
LOG_RANGE = 8
"""A log loss axis when the loss spans more than this factor (training from scratch: 10 down
to 0.01; a first-epoch spike of the validation loss)."""
PANELS = [  # metrics column, line label, colour, panel
    ("train_loss", "training", "tab:blue", 0),
    ("val_loss", "validation", "tab:red", 0),
    ("train_top1", "training (augmented clips)", "tab:blue", 1),
    ("top1", "validation", "tab:red", 1),
]


def plot_training_curves(row: pd.Series, path: Path) -> FigureFile | None:
    """None when the run logged no epoch."""
    metrics = pd.DataFrame(read_metrics(Path(row["run_dir"])))
    if metrics.empty:
        return None
    fig, axes = new_figure(2.8, columns=2, dpi=CURVE_DPI)
    for column, label, colour, panel in PANELS:
        if column in metrics:  # validation columns are empty between eval.interval epochs
            points = metrics[["epoch", column]].dropna()
            axes[panel].plot(points["epoch"], points[column], marker="o", markersize=3, color=colour,
                             label=label)
    loss, top1 = axes
    losses = metrics.filter(like="loss").stack()
    if len(losses) and (losses > 0).all() and losses.max() / losses.min() > LOG_RANGE:
        loss.set_yscale("log")
        loss.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        loss.yaxis.set_minor_formatter(NullFormatter())
    loss.set_ylabel("cross-entropy loss" + (" (log scale)" if loss.get_yscale() == "log" else ""))
    top1.set_ylabel("top-1 accuracy (%)")
    top1.set_ylim(-2, 102)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="best")
    status = "" if row["status"] == FINISHED else f" [{row['status']}: {shorten(str(row['reason']), 60)}]"
    fig.suptitle(f"{row['name']}{status}: {row['label']} {row['backbone']}, {row['frames']:.0f} frames, "
                 f"{row['dataset']}", fontsize=9)
    # Fixed margins, not tight_layout: the layout is the same for every run, and measuring it
    # (every tick label's extent) cost a third of the figure.
    fig.subplots_adjust(left=0.09, right=0.985, bottom=0.16, top=0.87, wspace=0.3)
    return save(fig, path)
