"""The report's per-class part, per dataset: a table with each row's mean-class accuracy, its
hardest classes and its most confused pairs; `<dataset>_per_class.csv` with every class's top-1
under every row, however many classes; and `confusion/<id>.png` per row
(`figures/confusion.py`). A seed row shows its lowest seed's run, as in the pairwise tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from ..core.atomic import write_text
from ..store.predictions import Predictions
from ..store.record import FINISHED
from .evidence import Evidence
from .figures.confusion import plot_confusions
from .figures.style import RC, FigureFile, point_labels
from .per_class import class_name, confused_pairs, hardest_classes, per_class_accuracy
from .tables import number, tabulated

CONFUSION_DIR = "confusion"


@dataclass(frozen=True)
class ClassFiles:
    dataset: str
    labels: dict[str, str]
    """Row label by run id, for the rows with predictions, in table order."""
    csv: Path
    confusions: dict[str, FigureFile]
    """By run id."""


def write_class_files(rows: pd.DataFrame, evidence: Evidence, dataset: str, out: Path) -> ClassFiles | None:
    """`rows`: one dataset's table rows; None when none of them has predictions."""
    finished = rows[rows["status"] == FINISHED]
    if finished.empty:
        return None
    labels = dict(zip(finished["id"], point_labels(finished)[0]))
    labels = {run: label for run, label in labels.items() if run in evidence.predictions}
    if not labels:
        return None
    predictions = {run: evidence.predictions[run] for run in labels}
    csv = _write_csv({labels[run]: of_run for run, of_run in predictions.items()},
                     out / f"{dataset}_per_class.csv")
    with matplotlib.rc_context(RC):
        confusions = {run: plot_confusions(of_run, f"{dataset}, {labels[run]}",
                                           out / CONFUSION_DIR / f"{run}.png")
                      for run, of_run in predictions.items()}
    return ClassFiles(dataset, labels, csv, confusions)


def render_classes(files: ClassFiles, evidence: Evidence, fmt: str, out: Path) -> list[str]:
    """The README lines of one dataset's per-class section."""
    body = []
    for run, label in files.labels.items():
        predictions = evidence.predictions[run]
        body.append([label, number(np.nanmean(per_class_accuracy(predictions))), hardest_classes(predictions),
                     confused_pairs(predictions)])
    headers = ["method", "mean class (%)", "hardest classes (top-1 %)",
               "most confused (true → predicted: videos)"]
    table = tabulated(body, headers, ["left", "right", "left", "left"], fmt,
                      f"{files.dataset}: per-class accuracy and confusions.")
    links = " · ".join(f"[{files.labels[run]}]({figure.path.relative_to(out).as_posix()})"
                       for run, figure in files.confusions.items())
    return ["### Per class", "", f"```latex\n{table}\n```" if fmt == "latex" else table, "",
            "A seed row shows its lowest seed's run. "
            f"Every class's top-1 under every row: [{files.csv.name}]({files.csv.name}). "
            f"Confusions (true class against predicted class): {links}", ""]


def _write_csv(predictions: dict[str, Predictions], path: Path) -> Path:
    """Class by class (label, name, videos), the top-1 under each of `predictions` (column
    name -> predictions of one dataset's rows)."""
    first = next(iter(predictions.values()))
    frame = pd.DataFrame({"label": range(first.num_classes),
                          "class": [class_name(first, label) for label in range(first.num_classes)],
                          "videos": np.bincount(first.labels, minlength=first.num_classes)})
    for column, of_row in predictions.items():
        frame[column] = per_class_accuracy(of_row).round(2)
    write_text(path, frame.to_csv(index=False))
    return Path(path)
