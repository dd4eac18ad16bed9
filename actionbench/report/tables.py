"""One results table per dataset, as Markdown or LaTeX (tabulate), with the published numbers
and our deltas beside ours where the experiment file has a `paper:` block.

Numbers are formatted here, not by tabulate, so that a delta keeps its sign and a missing value
reads "—"; the published value and our delta share a cell ("45.6 (+1.2)") to keep the table
narrow enough for a page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from tabulate import LATEX_ESCAPE_RULES, tabulate

from .records import RECONSTRUCTED_MARK

FORMATS = ("markdown", "latex")
MISSING = "—"
RECONSTRUCTED_NOTE = (f"{RECONSTRUCTED_MARK} reconstructed from the description: no code or paper text "
                      "was available, only the abstract; not the authors' model.")
TABLE_NOTE = ("Rows are sorted by inference cost per video (GFLOPs per view × views). GFLOPs count "
              "multiply-adds of one view (one clip, one crop); latency is the median batch-1 forward "
              "time of one clip (one view), throughput the clips per second at the record's batch size, "
              "both on the device shown.")
PAPER_NOTE = ("Published numbers come from the experiment files' `paper:` blocks; Δ = ours − published, "
              "in points for top-1 and in % of the published figure for GFLOPs and parameters.")
# tabulate's LaTeX formats escape TeX's special characters but leave Unicode alone.
LATEX_SYMBOLS = {"Δ": r"$\Delta$", RECONSTRUCTED_MARK: r"$^\dagger$", "×": r"$\times$", MISSING: "--"}


def number(value: float | None, digits: int = 1) -> str:
    return MISSING if pd.isna(value) else f"{value:.{digits}f}"


def gflops(value: float | None) -> str:
    """Three decimals below 1 GFLOP (the smoke models), two above."""
    return number(value, 3 if pd.notna(value) and value < 1 else 2)


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


COLUMNS = [
    Column("method", lambda row: row["label"], numeric=False),
    Column("backbone", lambda row: str(row["backbone"]), numeric=False),
    Column("frames", lambda row: number(row["frames"], 0)),
    Column("views", lambda row: row["views_label"]),
    Column("top-1 (%)", lambda row: number(row["top1"])),
    Column("top-5 (%)", lambda row: number(row["top5"])),
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


def sources(rows: pd.DataFrame) -> list[str]:
    """The distinct published sources of these rows, in table order; rows cite them by number."""
    return list(dict.fromkeys(rows["paper.source"].dropna()))


def render_table(rows: pd.DataFrame, fmt: str = "markdown", caption: str = "") -> str:
    """The finished experiments of one dataset, in the row order given."""
    columns = [column for column in COLUMNS
               if column.paper is None or rows[f"paper.{column.paper}"].notna().any()]
    cited = sources(rows)
    body = [[column.cell(row) for column in columns] for _, row in rows.iterrows()]
    headers = [column.header for column in columns]
    align = ["right" if column.numeric else "left" for column in columns]
    if cited:
        headers.append("source")
        align.append("left")
        for line, source in zip(body, rows["paper.source"]):
            line.append(f"[{cited.index(source) + 1}]" if pd.notna(source) else "")
    if fmt == "markdown":
        return tabulate(body, headers, tablefmt="pipe", colalign=align, disable_numparse=True)
    return _latex(tabulate(body, headers, tablefmt="latex_booktabs", colalign=align, disable_numparse=True),
                  caption, cited)


def _latex(tabular: str, caption: str, cited: list[str]) -> str:
    """A float ready for \\input: booktabs, scaled to the text width; sources in the caption."""
    notes = "".join(f" [{number}] {source}." for number, source in enumerate(cited, 1))
    caption = "".join(LATEX_ESCAPE_RULES.get(char, char) for char in caption + notes)
    for symbol, tex in LATEX_SYMBOLS.items():
        tabular, caption = tabular.replace(symbol, tex), caption.replace(symbol, tex)
    return "\n".join([r"% needs \usepackage{booktabs,graphicx}", r"\begin{table}[t]", r"\centering",
                      rf"\caption{{{caption}}}", r"\resizebox{\textwidth}{!}{%", tabular + "}",
                      r"\end{table}"])
