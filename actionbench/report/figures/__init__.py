"""PNG figures of a report, one module per kind of figure; all drawn from the records only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pandas as pd

from ...store.record import FINISHED
from .cost import plot_accuracy_vs_gflops, plot_accuracy_vs_throughput
from .curves import plot_training_curves
from .frames import LINE_KEYS, plot_accuracy_vs_frames
from .intervals import CAPTION, has_intervals
from .paper import has_paper_numbers, plot_published_vs_ours
from .style import RC, FigureFile

CURVES_DIR = "curves"


@dataclass(frozen=True)
class Captioned:
    figure: FigureFile
    caption: str


@dataclass(frozen=True)
class DatasetFigures:
    figures: list[Captioned]
    skipped: list[str]
    """Why a kind of figure was not drawn, for the reader."""


def dataset_figures(rows: pd.DataFrame, dataset: str, out: Path) -> DatasetFigures:
    """The figures of one dataset's finished experiments."""
    rows = rows[(rows["status"] == FINISHED) & rows["top1"].notna()]
    figures, skipped = [], []
    if rows.empty:
        return DatasetFigures(figures, skipped)
    bars = f"; {CAPTION}" if has_intervals(rows) else ""
    with matplotlib.rc_context(RC):
        figures.append(Captioned(
            plot_accuracy_vs_gflops(rows, dataset, out / f"{dataset}_accuracy_vs_gflops.png"),
            f"Top-1 against GFLOPs per view; bubble area ∝ parameters{bars}."))
        if rows["throughput"].notna().any():
            figures.append(Captioned(
                plot_accuracy_vs_throughput(rows, dataset, out / f"{dataset}_accuracy_vs_throughput.png"),
                f"Top-1 against measured throughput (device in the legend){bars}."))
        if _several_frame_counts(rows):
            figures.append(Captioned(
                plot_accuracy_vs_frames(rows, dataset, out / f"{dataset}_accuracy_vs_frames.png"),
                f"Top-1 against frames per clip, one line per method{bars}."))
        else:
            skipped.append("no accuracy-vs-frames figure: no method appears at several frame counts")
        if has_paper_numbers(rows):
            figures.append(Captioned(
                plot_published_vs_ours(rows, dataset, out / f"{dataset}_published_vs_ours.png"),
                f"Published numbers (hollow) against ours (filled), with our difference{bars}."))
        else:
            skipped.append("no published-vs-ours figure: no experiment here has a `paper:` block")
    return DatasetFigures(figures, skipped)


def _several_frame_counts(rows: pd.DataFrame) -> bool:
    """Whether a line of the frames figure (a method, backbone and test views) has two points
    or more: with one point per line the figure shows nothing the table does not."""
    return bool((rows.groupby(LINE_KEYS, dropna=False)["frames"].nunique() > 1).any())


def training_curves(frame: pd.DataFrame, out: Path) -> dict[str, FigureFile]:
    """`curves/<id>.png` for every experiment that logged an epoch, failed and unfinished ones too."""
    curves = {}
    with matplotlib.rc_context(RC):
        for _, row in frame.iterrows():
            if pd.notna(row.get("run_dir")):
                figure = plot_training_curves(row, out / CURVES_DIR / f"{row['id']}.png")
                if figure is not None:
                    curves[row["id"]] = figure
    return curves


__all__ = ["Captioned", "DatasetFigures", "FigureFile", "dataset_figures", "training_curves"]
