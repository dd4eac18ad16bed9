"""Is A better than B? Per dataset, the table rows evaluated on the same video list are compared
video by video (`statistics.compare`: the paired bootstrap interval of the top-1 difference, and
McNemar's exact test), with Holm's correction over the dataset's comparisons, in a table and
one sentence naming the significant differences.

Up to ALL_PAIRS_ROWS rows every pair is compared; beyond that (45 pairs) each row against the
best, which answers the question a reader asks first. A seed row is compared through its
lowest seed's run (`seeds.py`): the test is about two trained networks on these videos, while
the seed column says how much retraining moves a row.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .evidence import Evidence
from .figures.style import point_labels
from .statistics import LEVEL, Comparison, compare, holm
from .tables import tabulated

ALL_PAIRS_ROWS = 10


@dataclass(frozen=True)
class Pair:
    a: str
    """The row with the higher top-1 (its label), so that differences read A − B ≥ 0."""
    b: str
    comparison: Comparison
    holm_p: float

    @property
    def significant(self) -> bool:
        return self.holm_p < LEVEL


@dataclass(frozen=True)
class Comparisons:
    pairs: list[Pair]
    best: str | None
    """The row every other was compared with, when there were too many rows for all pairs."""
    videos: int
    left_out: list[str]
    """Rows without predictions, or evaluated on another video list than the compared ones."""


def compare_rows(rows: pd.DataFrame, evidence: Evidence) -> Comparisons | None:
    """The comparisons among one dataset's finished table rows; None when fewer than two rows
    share a video list."""
    labels = dict(zip(rows["id"], point_labels(rows)[0])) if len(rows) else {}
    usable = rows[rows["id"].isin(list(evidence.predictions))]
    lists = usable["id"].map(lambda run: evidence.predictions[run].video_list_sha256)
    if lists.empty or lists.value_counts().iloc[0] < 2:
        return None
    largest = lists == lists.value_counts().index[0]
    compared = usable[largest].sort_values("top1", ascending=False, kind="stable")
    ids = list(compared["id"])
    if len(ids) > ALL_PAIRS_ROWS:
        candidates, best = [(ids[0], other) for other in ids[1:]], labels[ids[0]]
    else:
        candidates, best = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]], None
    results = [compare(labels[a], evidence.predictions[a], labels[b], evidence.predictions[b])
               for a, b in candidates]
    adjusted = holm([result.p_value for result in results])
    pairs = [Pair(labels[a], labels[b], result, p)
             for (a, b), result, p in zip(candidates, results, adjusted)]
    left_out = [labels[run] for run in rows["id"] if run not in ids]
    return Comparisons(pairs, best, evidence.predictions[ids[0]].num_videos, left_out)


def p_value(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def render_pairwise(comparisons: Comparisons, fmt: str = "markdown", caption: str = "") -> str:
    headers = ["A", "B", "Δ top-1 (points) [95 % CI]", "A only", "B only", "McNemar p", "Holm p",
               "significant"]
    body = []
    for pair in comparisons.pairs:
        difference = pair.comparison.differences["top1"]
        interval = f"{difference.estimate:+.1f} [{difference.low:+.1f}, {difference.high:+.1f}]"
        body.append([pair.a, pair.b, interval, str(pair.comparison.a_only), str(pair.comparison.b_only),
                     p_value(pair.comparison.p_value), p_value(pair.holm_p),
                     "yes" if pair.significant else "no"])
    align = ["left", "left", "right", "right", "right", "right", "right", "left"]
    return tabulated(body, headers, align, fmt, caption)


def significance_sentence(dataset: str, comparisons: Comparisons) -> str:
    """Which differences are significant at LEVEL after Holm's correction, in one sentence."""
    pairs = comparisons.pairs
    significant = [pair for pair in pairs if pair.significant]
    test = (f"at the {100 * LEVEL:g} % level (McNemar's exact test on {comparisons.videos} videos, "
            "Holm-adjusted)")
    if comparisons.best is not None:
        beaten = ", ".join(f"{pair.b} ({_points(pair)})" for pair in significant)
        close = ", ".join(pair.b for pair in pairs if not pair.significant)
        return (f"**{dataset}**: {comparisons.best} (best top-1) is significantly better {test} than "
                + (beaten or "none of the others")
                + (f"; its lead over {close} is within what these videos can tell apart." if close else "."))
    found = "; ".join(f"{pair.a} > {pair.b} ({_points(pair)})" for pair in significant)
    if not significant:
        return f"**{dataset}**: none of the {len(pairs)} pairwise differences is significant {test}."
    rest = len(pairs) - len(significant)
    return (f"**{dataset}**: {len(significant)} of {len(pairs)} pairwise differences are significant {test}: "
            f"{found}" + (f"; the other {rest} are not." if rest else "."))


def _points(pair: Pair) -> str:
    return f"{pair.comparison.differences['top1'].estimate:+.1f} points"
