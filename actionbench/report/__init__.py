"""Reports: every result record into a pandas table, Markdown tables and PNG figures."""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_text
from ..errors import UserError
from ..results import load_records
from .plots import plot_accuracy_vs_gflops
from .tables import records_frame, render_markdown


def write_report(paths: list[Path], out: Path) -> Path:
    """Write `out/README.md` and the figures from the records under `paths`."""
    records = load_records(paths)
    if not records:
        raise UserError(f"no result records (result.json) found under: {', '.join(map(str, paths))}")
    frame = records_frame(records)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = [plot_accuracy_vs_gflops(frame, out / "accuracy_vs_gflops.png")]
    readme = out / "README.md"
    write_text(readme, render_markdown(frame, [figure.name for figure in figures]))
    return readme


__all__ = ["write_report"]
