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
