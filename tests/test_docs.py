"""The reference notes stay reachable: every relative link and anchor in README.md and docs/,
every `docs/<note>.md#<anchor>` that code, tests and experiment files cite, every repository
path the Markdown names, and every method's registered note resolve.

Justifications in the code point at these notes instead of restating them, so a renamed
heading or a moved file would silently orphan them; this test is what keeps them honest.
Anchors follow GitHub's rule (lower case, punctuation dropped, spaces to hyphens, -1, -2, ...
for repeated headings), since GitHub is where a reader opens them.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

import actionbench.models  # noqa: F401  (fills the method registry)
from actionbench.plan.registry import METHODS

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
CITING = sorted(path for folder in ("actionbench", "tests", "experiments", "bench")
                for pattern in ("*.py", "*.yaml", "*.md") for path in (ROOT / folder).rglob(pattern))
"""Files whose text may cite a note; bench/results/*.jsonl is generated output and not read."""

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CITATION = re.compile(r"(?<![\w/.])(docs/[\w/.-]+\.md)(?:#([\w-]+))?")
CODE_SPAN = re.compile(r"`([^`]+)`")
REPOSITORY_PATH = re.compile(r"(?:actionbench|tests|experiments|bench|docs|reports)/[\w/.-]*")
HEADING = re.compile(r"#{1,6}\s+(.*?)\s*#*\s*$")


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """(number, line) of a Markdown file, fenced code blocks left out: a link or heading there
    is example text, not rendered."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: inline links keep their text, code marks go,
    every other punctuation and symbol character is dropped, each space becomes a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(path):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(1))
            found.add(base if base not in seen else f"{base}-{seen[base]}")
            seen[base] = seen.get(base, 0) + 1
    return found


def unresolved(target: Path, anchor: str | None) -> str | None:
    """Why `target#anchor` does not resolve, or None when it does."""
    if not target.exists():
        return f"no file {target}"
    if anchor and anchor not in anchors(target):
        return f"no heading #{anchor} in {target}"
    return None


def broken_links(path: Path) -> list[str]:
    """Relative links and anchors of one Markdown file that do not resolve (web links are
    not fetched)."""
    errors = []
    for number, line in prose_lines(path):
        for url in LINK.findall(CODE_SPAN.sub("", line)):
            if re.match(r"[a-z][a-z0-9+.-]*:", url):
                continue
            target, _, anchor = url.partition("#")
            error = unresolved((path.parent / target).resolve() if target else path, anchor or None)
            if error:
                errors.append(f"{path}:{number}: [{url}] {error}")
    return errors


def broken_citations(path: Path, root: Path) -> list[str]:
    """`docs/<note>.md#<anchor>` strings of one file, resolved from the repository root, that
    do not resolve (in Markdown, outside fenced code, where examples such as a template's
    `docs=` live)."""
    errors = []
    lines = prose_lines(path) if path.suffix == ".md" else \
        enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
    for number, line in lines:
        for note, anchor in CITATION.findall(line):
            error = unresolved(root / note, anchor or None)
            if error:
                errors.append(f"{path}:{number}: {note}{'#' + anchor if anchor else ''} {error}")
    return errors


def missing_paths(path: Path, root: Path) -> list[str]:
    """Repository files and folders a Markdown file names in code spans (`tests/test_x.py`)
    that do not exist; templates such as `experiments/<dataset>/` are not paths."""
    errors = []
    for number, line in prose_lines(path):
        for span in CODE_SPAN.findall(line):
            match = REPOSITORY_PATH.fullmatch(span.split("#")[0].split("::")[0])
            if match and not (root / match.group(0)).exists():
                errors.append(f"{path}:{number}: `{span}` does not exist")
    return errors


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_links_and_anchors_resolve(path):
    assert broken_links(path) == []


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_paths_named_in_markdown_exist(path):
    assert missing_paths(path, ROOT) == []


def test_notes_cited_by_code_tests_and_experiments_resolve():
    assert len(CITING) > 100  # the scan reaches the package, the tests and the experiment files
    errors = [error for path in CITING + MARKDOWN for error in broken_citations(path, ROOT)]
    assert errors == []


def test_every_registered_method_has_its_note():
    assert METHODS
    assert [name for name, method in METHODS.items() if not (ROOT / method.docs).is_file()] == []


def test_slug_follows_githubs_rule():
    assert slug("Our implementation and its deviations") == "our-implementation-and-its-deviations"
    assert slug("IBM benchmark_mini.md") == "ibm-benchmark_minimd"
    assert slug("PAN: Persistence of Appearance (PAN_Lite)") == "pan-persistence-of-appearance-pan_lite"
    assert slug("`esti` † and [TSM](tsm.md)") == "esti--and-tsm"


def test_the_checks_catch_a_renamed_heading(tmp_path):
    notes = tmp_path / "docs"
    notes.mkdir()
    (notes / "a.md").write_text("# A\n\n## Sources\n\n## Sources\n\n```\n## Fenced\n```\n")
    (notes / "b.md").write_text("[ok](a.md#sources-1) [gone](a.md#published-numbers) "
                                "[fenced](a.md#fenced) [file](c.md) `[code](c.md)` [web](https://x.org/y)\n")
    assert [error.split(": ", 1)[1] for error in broken_links(notes / "b.md")] == [
        f"[a.md#published-numbers] no heading #published-numbers in {notes / 'a.md'}",
        f"[a.md#fenced] no heading #fenced in {notes / 'a.md'}",
        f"[c.md] no file {notes / 'c.md'}"]
    folder = "docs"  # kept apart so that this file's own text cites no note
    code = tmp_path / "module.py"
    code.write_text(f'"""See {folder}/a.md#sources, {folder}/a.md#what-it-is and {folder}/c.md."""\n')
    assert [error.split(": ", 1)[1] for error in broken_citations(code, tmp_path)] == [
        f"{folder}/a.md#what-it-is no heading #what-it-is in {notes / 'a.md'}",
        f"{folder}/c.md no file {notes / 'c.md'}"]
    (notes / "c.md").write_text("Run `tests/test_a.py` and `experiments/<dataset>/`.\n")
    assert [error.split(": ", 1)[1] for error in missing_paths(notes / "c.md", tmp_path)] == [
        "`tests/test_a.py` does not exist"]
