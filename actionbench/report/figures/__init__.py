"""PNG figures of a report, one module per kind of figure; all drawn from the records only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pandas as pd

from ...store.record import FINISHED
from .cost import plot_accuracy_vs_gflops, plot_accuracy_vs_throughput
from .curves import plot_training_curves
from .frames import plot_accuracy_vs_frames
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
    with matplotlib.rc_context(RC):
        figures.append(Captioned(
            plot_accuracy_vs_gflops(rows, dataset, out / f"{dataset}_accuracy_vs_gflops.png"),
            "Top-1 against GFLOPs per view; bubble area ∝ parameters."))
        if rows["throughput"].notna().any():
            figures.append(Captioned(
                plot_accuracy_vs_throughput(rows, dataset, out / f"{dataset}_accuracy_vs_throughput.png"),
                "Top-1 against measured throughput (device in the legend)."))
        if rows["frames"].nunique() > 1:
            figures.append(Captioned(
                plot_accuracy_vs_frames(rows, dataset, out / f"{dataset}_accuracy_vs_frames.png"),
                "Top-1 against frames per clip, one line per method."))
        else:
            skipped.append("no accuracy-vs-frames figure: every experiment uses "
                           f"{rows['frames'].iloc[0]:.0f} frames")
        if has_paper_numbers(rows):
            figures.append(Captioned(
                plot_published_vs_ours(rows, dataset, out / f"{dataset}_published_vs_ours.png"),
                "Published numbers (hollow) against ours (filled), with our difference."))
        else:
            skipped.append("no published-vs-ours figure: no experiment here has a `paper:` block")
    return DatasetFigures(figures, skipped)


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
