"""Reports: every run folder's record into one table, then README.md (summary, one table per
dataset, figures, provenance), results.csv and PNG figures; with `fmt="latex"` the tables are
LaTeX (also gathered in tables.tex, ready for \\input)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core.atomic import write_text
from ..core.errors import UserError
from ..store.record import FINISHED
from .analysis import analyse
from .class_report import ClassFiles, write_class_files
from .document import dataset_tables, render_document
from .export import write_csv
from .figures import DatasetFigures, FigureFile, dataset_figures, training_curves
from .records import load_experiments
from .tables import FORMATS

MAX_CURVES = 200
"""Training-curve figures one report draws (each is a PNG of its own: about a tenth of a
second): every experiment's up to this many, else the ones worth a look first."""


@dataclass(frozen=True)
class Report:
    """What was written, for the caller and the tests."""

    readme: Path
    csv: Path
    figures: dict[str, DatasetFigures]
    curves: dict[str, FigureFile]
    """Training curves by experiment id."""
    classes: dict[str, ClassFiles]
    """Per-class files by dataset."""


def write_report(paths: list[Path], out: Path, fmt: str = "markdown") -> Report:
    """Write the report of the run folders under `paths` into `out`."""
    if fmt not in FORMATS:
        raise UserError(f"report format '{fmt}': expected one of {', '.join(FORMATS)}")
    analysis = analyse(load_experiments(paths))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = write_csv(analysis.runs, out / "results.csv")
    by_dataset = dict(list(analysis.rows.groupby("dataset")))
    figures = {dataset: dataset_figures(rows, dataset, out) for dataset, rows in by_dataset.items()}
    curves = training_curves(curve_rows(analysis.runs), out)
    classes = {dataset: files for dataset, rows in by_dataset.items()
               if (files := write_class_files(rows, analysis.evidence, dataset, out)) is not None}
    tables = dataset_tables(analysis.rows, fmt)
    if fmt == "latex":
        write_text(out / "tables.tex", "\n\n".join(tables.values()) + "\n")
    readme = out / "README.md"
    write_text(readme, render_document(analysis, tables, fmt, figures, curves, classes, out))
    return Report(readme, csv, figures, curves, classes)


def curve_rows(frame: pd.DataFrame, limit: int = MAX_CURVES) -> pd.DataFrame:
    """The experiments whose training curves are drawn: all of them up to `limit`; beyond it,
    the failed and unfinished ones (what went wrong), then the best finished run of each
    method on each dataset, then the rest in table order, `limit` in all. Every run folder
    keeps its metrics.jsonl for the curves left out."""
    if len(frame) <= limit:
        return frame
    unfinished = frame["status"] != FINISHED
    ranked = frame[~unfinished].sort_values("top1", ascending=False, na_position="last")
    best = frame.index.isin(ranked.drop_duplicates(["dataset", "method"]).index)
    order = pd.concat([frame[unfinished], frame[best], frame[~unfinished & ~best]])
    return order.head(limit).sort_index()


__all__ = ["Report", "curve_rows", "write_report"]
