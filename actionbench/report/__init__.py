"""Reports: every run folder's record into one table, then README.md (summary, one table per
dataset, figures, provenance), results.csv and PNG figures; with `fmt="latex"` the tables are
LaTeX (also gathered in tables.tex, ready for \\input)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.atomic import write_text
from ..core.errors import UserError
from .document import dataset_tables, render_document
from .export import write_csv
from .figures import DatasetFigures, FigureFile, dataset_figures, training_curves
from .records import load_experiments
from .tables import FORMATS


@dataclass(frozen=True)
class Report:
    """What was written, for the caller and the tests."""

    readme: Path
    csv: Path
    figures: dict[str, DatasetFigures]
    curves: dict[str, FigureFile]
    """Training curves by experiment id."""


def write_report(paths: list[Path], out: Path, fmt: str = "markdown") -> Report:
    """Write the report of the run folders under `paths` into `out`."""
    if fmt not in FORMATS:
        raise UserError(f"report format '{fmt}': expected one of {', '.join(FORMATS)}")
    frame = load_experiments(paths)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = write_csv(frame, out / "results.csv")
    figures = {dataset: dataset_figures(rows, dataset, out) for dataset, rows in frame.groupby("dataset")}
    curves = training_curves(frame, out)
    tables = dataset_tables(frame, fmt)
    if fmt == "latex":
        write_text(out / "tables.tex", "\n\n".join(tables.values()) + "\n")
    readme = out / "README.md"
    write_text(readme, render_document(frame, tables, fmt, figures, curves, out))
    return Report(readme, csv, figures, curves)


__all__ = ["Report", "write_report"]
