"""The README's generated tables are what the code prints now: the method table (`list
methods`), the cost table (`list costs`, measured with fvcore) and the schema (`list fields`).
Each sits between `<!-- list X -->` and `<!-- end list X -->`; when a test fails, replace the
block with what the command prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from actionbench.commands import listing

README = Path(__file__).resolve().parents[1] / "README.md"


def block(what: str) -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- list {what} -->\n(.*?)\n<!-- end list {what} -->", text, re.S)
    assert found, f"README.md has no '<!-- list {what} -->' block"
    return found.group(1).strip().removeprefix("```").removesuffix("```").strip()


@pytest.mark.parametrize("what", ["methods", "costs", "fields"])
def test_readme_shows_what_list_prints(what):
    assert block(what) == listing.render(what, Path("experiments")).strip(), \
        f"README.md is stale: paste `python benchmark.py list {what}` into its '{what}' block"


SMOKE_REPORT = README.parent / "reports" / "smoke"


def smoke_table() -> dict[str, list[str]]:
    """The README's smoke table, by method: its cells after the method's."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- smoke results -->\n(.*?)\n<!-- end smoke results -->", text, re.S)
    assert found, "README.md has no '<!-- smoke results -->' block"
    rows = [line.strip("|").split("|") for line in found.group(1).splitlines()[2:]]
    return {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows}


def test_readme_smoke_table_is_the_committed_smoke_report():
    """Each row's epochs, top-1 with its 95 % interval, top-5, GFLOPs and params are those of
    reports/smoke/results.csv, which `report` wrote from one run of a clean commit."""
    import pandas as pd

    frame = pd.read_csv(SMOKE_REPORT / "results.csv")
    readme = smoke_table()
    assert sorted(readme) == sorted(frame["method"])
    for row in frame.itertuples():
        expected = [str(row.epochs), f"{row.top1:.1f} ± {(row.top1_high - row.top1_low) / 2:.1f}",
                    f"{row.top5:.1f}", f"{row.gflops:.3f}", f"{row.params_m:.2f}"]
        assert readme[row.method][:5] == expected, row.method
    assert "local changes" not in (SMOKE_REPORT / "README.md").read_text(encoding="utf-8")
