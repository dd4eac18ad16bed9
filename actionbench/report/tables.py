"""One results table per dataset, as Markdown or LaTeX (tabulate), with the published numbers
and our deltas beside ours where the experiment file has a `paper:` block.

Numbers are formatted here, not by tabulate, so that a delta keeps its sign and a missing value
reads "—"; the published value and our delta share a cell ("45.6 (+1.2)"), and an accuracy and
the half-width of its 95 % interval share one too ("61.2 ± 0.6"), to keep the table narrow
enough for a page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from tabulate import LATEX_ESCAPE_RULES, tabulate

from .records import RECONSTRUCTED_MARK
from .seeds import SEED_STD, SEEDS
from .uncertainty import half_width

FORMATS = ("markdown", "latex")
MISSING = "—"
RECONSTRUCTED_NOTE = (f"{RECONSTRUCTED_MARK} reconstructed from the description: no code or paper text "
                      "was available, only the abstract; not the authors' model.")
TABLE_NOTE = ("Rows are sorted by inference cost per video (GFLOPs per view × views). GFLOPs count "
              "multiply-adds of one view (one clip, one crop); latency is the median batch-1 forward "
              "time of one clip (one view), throughput the clips per second at the record's batch size, "
              "both on the device shown.")
UNCERTAINTY_NOTE = ("± is half the width of the 95 % bootstrap interval over the evaluated videos (1,000 "
                    "resamples; results.csv holds both bounds); a row without ± has no saved predictions.")
SEEDS_NOTE = ("A row with several seeds merges runs that differ only in `train.seed`: its accuracies and "
              "intervals are the means over the runs, and the seeds column gives their number and the "
              "standard deviation of their top-1.")
PAPER_NOTE = ("Published numbers come from the experiment files' `paper:` blocks; Δ = ours − published, "
              "in points for top-1 and in % of the published figure for GFLOPs and parameters.")
# tabulate's LaTeX formats escape TeX's special characters but leave Unicode alone.
LATEX_SYMBOLS = {"Δ": r"$\Delta$", RECONSTRUCTED_MARK: r"$^\dagger$", "×": r"$\times$", "±": r"$\pm$",
                 "→": r"$\to$", MISSING: "--"}


def number(value: float | None, digits: int = 1) -> str:
    return MISSING if pd.isna(value) else f"{value:.{digits}f}"


def gflops(value: float | None) -> str:
    """Three decimals below 1 GFLOP (the smoke models), two above."""
    return number(value, 3 if pd.notna(value) and value < 1 else 2)


def with_interval(row: pd.Series, metric: str) -> str:
    """'61.2 ± 0.6', or the estimate alone when the row has no interval."""
    width = half_width(row, metric)
    return number(row[metric]) + ("" if pd.isna(width) else f" ± {width:.1f}")


def frames(row: pd.Series) -> str:
    """Training frames, with the test clip's where it differs ('5 → 8': TSM's TSN baseline)."""
    tested = row.get("eval_frames")
    shown = number(row["frames"], 0)
    return shown if pd.isna(tested) or tested == row["frames"] else f"{shown} → {tested:.0f}"


def seeds(row: pd.Series) -> str:
    return f"{row[SEEDS]:.0f}" + (f" (s.d. {row[SEED_STD]:.1f})" if pd.notna(row.get(SEED_STD)) else "")


def with_delta(published: float | None, delta: float | None, render: Callable[[float | None], str],
               unit: str = "") -> str:
    if pd.isna(published):
        return MISSING
    return render(published) + ("" if pd.isna(delta) else f" ({delta:+.1f}{unit})")


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[pd.Series], str]
    numeric: bool = True
    paper: str | None = None
    """The `paper.*` field this column shows; the column appears only when a row has it."""
    shown: Callable[[pd.DataFrame], bool] | None = None
    """Whether the rows need the column; None: always."""


COLUMNS = [
    Column("method", lambda row: row["label"], numeric=False),
    Column("backbone", lambda row: str(row["backbone"]), numeric=False),
    Column("frames", lambda row: frames(row)),
    Column("views", lambda row: row["views_label"]),
    Column("top-1 (%)", lambda row: with_interval(row, "top1")),
    Column("top-5 (%)", lambda row: with_interval(row, "top5")),
    Column("mean class (%)", lambda row: with_interval(row, "mean_class_acc")),
    Column("seeds", seeds, shown=lambda rows: SEEDS in rows and (rows[SEEDS] > 1).any()),
    Column("GFLOPs/view", lambda row: gflops(row["gflops"])),
    Column("params (M)", lambda row: number(row["params_m"], 2)),
    Column("latency (ms/clip)", lambda row: number(row["latency_ms"])),
    Column("throughput (clips/s)", lambda row: number(row["throughput"])),
    Column("device", lambda row: str(row.get("cost_device") if pd.notna(row.get("cost_device"))
                                     else row["device"]), numeric=False),
    Column("paper top-1 (Δ)", lambda row: with_delta(row["paper.top1"], row["delta_top1"], number),
           paper="top1"),
    Column("paper GFLOPs (Δ %)", lambda row: with_delta(row["paper.gflops"], row["delta_gflops_pct"],
                                                        gflops, " %"), paper="gflops"),
    Column("paper params (M) (Δ %)", lambda row: with_delta(row["paper.params_m"], row["delta_params_pct"],
                                                            lambda value: number(value, 2), " %"),
           paper="params_m"),
]


@dataclass(frozen=True)
class Legend:
    """A column of values too long for a cell (a row's protocol, its published source): each
    distinct value gets a key, in table order, that the rows cite; the keys are spelled out
    under the table (LaTeX: in the caption). Shown only when a row has a value."""

    header: str
    field: str
    key: Callable[[int], str]
    code: bool = False
    """Markdown shows the value as code (a protocol line is a command-like string)."""

    def values(self, rows: pd.DataFrame) -> list[str]:
        return list(dict.fromkeys(rows[self.field].dropna())) if self.field in rows else []

    def notes(self, rows: pd.DataFrame) -> list[tuple[str, str]]:
        """(key, value) per distinct value."""
        return [(self.key(number), value) for number, value in enumerate(self.values(rows), 1)]


LEGENDS = (Legend("protocol", "protocol", "P{}".format, code=True),
           Legend("source", "paper.source", "[{}]".format))
"""The protocol line of the record (`Protocol.describe`: frame, crop, flip and view rules) and
the `paper.source` of the experiment file."""


def legend_notes(rows: pd.DataFrame) -> list[str]:
    """The Markdown lines under a table that spell out its legends' keys."""
    return [f"{key} `{value}`  " if legend.code else f"{key} {value}  "
            for legend in LEGENDS for key, value in legend.notes(rows)]


def render_table(rows: pd.DataFrame, fmt: str = "markdown", caption: str = "") -> str:
    """The finished experiments of one dataset, in the row order given."""
    columns = [column for column in COLUMNS
               if (column.paper is None or rows[f"paper.{column.paper}"].notna().any())
               and (column.shown is None or column.shown(rows))]
    body = [[column.cell(row) for column in columns] for _, row in rows.iterrows()]
    headers = [column.header for column in columns]
    align = ["right" if column.numeric else "left" for column in columns]
    notes = []
    for legend in LEGENDS:
        keys = dict((value, key) for key, value in legend.notes(rows))
        if keys:
            headers.append(legend.header)
            align.append("left")
            for line, value in zip(body, rows[legend.field]):
                line.append(keys[value] if pd.notna(value) else "")
            notes += legend.notes(rows)
    return tabulated(body, headers, align, fmt, caption, notes)


def tabulated(body: list[list[str]], headers: list[str], align: list[str], fmt: str = "markdown",
              caption: str = "", notes: list[tuple[str, str]] = ()) -> str:
    """Pre-formatted cells as a Markdown pipe table or a LaTeX float; `notes` are the (key,
    value) pairs the cells cite, for the LaTeX caption (Markdown has them under the table)."""
    if fmt == "markdown":
        return tabulate(body, headers, tablefmt="pipe", colalign=align, disable_numparse=True)
    return _latex(tabulate(body, headers, tablefmt="latex_booktabs", colalign=align, disable_numparse=True),
                  caption, list(notes))


def _latex(tabular: str, caption: str, notes: list[tuple[str, str]]) -> str:
    """A float ready for \\input: booktabs, scaled to the text width; legends in the caption."""
    notes = "".join(f" {key} {value}." for key, value in notes)
    caption = "".join(LATEX_ESCAPE_RULES.get(char, char) for char in caption + notes)
    for symbol, tex in LATEX_SYMBOLS.items():
        tabular, caption = tabular.replace(symbol, tex), caption.replace(symbol, tex)
    return "\n".join([r"% needs \usepackage{booktabs,graphicx}", r"\begin{table}[t]", r"\centering",
                      rf"\caption{{{caption}}}", r"\resizebox{\textwidth}{!}{%", tabular + "}",
                      r"\end{table}"])
