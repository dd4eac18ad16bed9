"""How sure an accuracy is, whether one method beats another, and what seeds change.

An accuracy is measured on a finite list of videos: on Something-Something V2's 24,777
validation videos a 60 % top-1 has a binomial standard error of sqrt(0.6 * 0.4 / 24777) = 0.31
points, and two rows a few tenths apart may not differ at all. Three tools answer that:

- **Bootstrap over videos** (Efron & Tibshirani, "An Introduction to the Bootstrap", Chapman &
  Hall 1993, ch. 13, the percentile interval): `RESAMPLES` resamples of the N videos drawn
  with replacement, from a numpy Generator seeded with `SEED`, and the 2.5th and 97.5th
  percentiles of the resampled accuracy. Every statistic here depends on a video only through
  its cell, (class, correct or not under each prediction), so a resample is drawn as
  multinomial counts of the N videos over the observed cells: the same distribution as drawing
  N video indices, vectorised over resamples, and independent of the number of videos.
- **McNemar's exact test** (McNemar, "Note on the sampling error of the difference between
  correlated proportions or percentages", Psychometrika 12(2), 1947; recommended for comparing
  two classifiers on one test set by Dietterich, "Approximate statistical tests for comparing
  supervised classification learning algorithms", Neural Computation 10(7), 1998): among the
  videos exactly one of two methods gets right, a two-sided binomial test of p = 1/2. A
  **paired bootstrap** gives the difference of the two accuracies its interval.
- **Seeds**: runs that differ only in `train.seed` summarised by mean, standard deviation
  (ddof=1) and their number.

With many pairs on one dataset, `holm` adjusts the p-values (Holm, "A simple sequentially
rejective multiple test procedure", Scandinavian Journal of Statistics 6(2), 1979) so that the
chance of calling any equal pair different stays at the level.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from ..store.predictions import Predictions, require_same_videos

RESAMPLES = 1000
SEED = 0
CONFIDENCE = 0.95
LEVEL = 0.05
"""p-values below this are called significant."""
METRICS = ("top1", "top5", "mean_class_acc")
SEED_FIELDS = (("name",), ("train", "seed"))
"""What runs of one seed group may differ in: the seed, and the name a matrix derives from it."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Interval:
    """An estimate with its bootstrap percentile interval, in points."""

    estimate: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        """What '61.2 ± 0.6' prints; the percentile interval need not be symmetric."""
        return (self.high - self.low) / 2

    def excludes(self, value: float) -> bool:
        return not self.low <= value <= self.high


@dataclass(frozen=True)
class Comparison:
    """Run A against run B on the same videos; differences are A − B in points."""

    differences: dict[str, Interval]
    """Per metric of METRICS, from the paired bootstrap."""
    a_only: int
    """Videos that A classifies correctly (top-1) and B does not."""
    b_only: int
    p_value: float
    """McNemar's exact test on per-video top-1 correctness."""

    @property
    def significant(self) -> bool:
        return self.p_value < LEVEL


@dataclass(frozen=True)
class SeedSummary:
    mean: float
    std: float | None
    """Sample standard deviation (ddof=1); None for a single seed."""
    n: int


class _Cells:
    """The videos grouped into cells (class, one correctness flag per prediction), with the
    observed counts and `resamples` bootstrap counts (resamples, cells) over the cells."""

    def __init__(self, labels: np.ndarray, flags: Sequence[np.ndarray], resamples: int, seed: int):
        bits = len(flags)
        codes = labels.astype(np.int64) << bits
        for bit, flag in enumerate(flags):
            codes |= flag.astype(np.int64) << bit
        cells, observed = np.unique(codes, return_counts=True)
        self.flags = [(cells >> bit & 1).astype(bool) for bit in range(bits)]
        classes = cells >> bits
        self.class_starts = np.flatnonzero(np.r_[True, classes[1:] != classes[:-1]])
        self.observed = observed[None, :]
        rng = np.random.default_rng(seed)
        self.resampled = rng.multinomial(len(labels), observed / len(labels), size=resamples)

    def accuracy(self, counts: np.ndarray, flag: int) -> np.ndarray:
        """Per row of counts: the share of videos with the flag set, in percent."""
        return 100 * counts[:, self.flags[flag]].sum(axis=1) / counts.sum(axis=1)

    def mean_class(self, counts: np.ndarray, flag: int) -> np.ndarray:
        """Per row of counts: the mean over the classes present in it of their share of
        videos with the flag set, in percent (as `core.metrics.classification_metrics`)."""
        videos = np.add.reduceat(counts, self.class_starts, axis=1)
        correct = np.add.reduceat(counts * self.flags[flag], self.class_starts, axis=1)
        recall = np.divide(correct, videos, out=np.full(videos.shape, np.nan), where=videos > 0)
        return 100 * np.nanmean(recall, axis=1)

    def metric(self, name: str, prediction: int = 0) -> Callable[[np.ndarray], np.ndarray]:
        """The statistic `name` of METRICS for prediction number `prediction`, whose flags are
        (top-1, top-5) at positions 2 * prediction and 2 * prediction + 1."""
        top1, top5 = 2 * prediction, 2 * prediction + 1
        return {"top1": lambda counts: self.accuracy(counts, top1),
                "top5": lambda counts: self.accuracy(counts, top5),
                "mean_class_acc": lambda counts: self.mean_class(counts, top1)}[name]


def accuracy_intervals(predictions: Predictions, resamples: int = RESAMPLES, seed: int = SEED,
                       confidence: float = CONFIDENCE) -> dict[str, Interval]:
    """Each metric of METRICS with its bootstrap interval over the videos."""
    cells = _Cells(predictions.labels, [predictions.correct(1), predictions.correct(5)], resamples, seed)
    return {name: _interval(cells, cells.metric(name), confidence) for name in METRICS}


def compare(name_a: str, a: Predictions, name_b: str, b: Predictions, resamples: int = RESAMPLES,
            seed: int = SEED, confidence: float = CONFIDENCE) -> Comparison:
    """A − B on every metric (paired bootstrap) and McNemar's exact test on top-1. Refuses
    (UserError) runs not evaluated on the same video list."""
    require_same_videos("compare", name_a, a, name_b, b)
    top1_a, top1_b = a.correct(1), b.correct(1)
    cells = _Cells(a.labels, [top1_a, a.correct(5), top1_b, b.correct(5)], resamples, seed)

    def difference(name: str) -> Callable[[np.ndarray], np.ndarray]:
        of_a, of_b = cells.metric(name, 0), cells.metric(name, 1)
        return lambda counts: of_a(counts) - of_b(counts)

    a_only, b_only = int((top1_a & ~top1_b).sum()), int((top1_b & ~top1_a).sum())
    return Comparison({name: _interval(cells, difference(name), confidence) for name in METRICS},
                      a_only, b_only, mcnemar_exact(a_only, b_only))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided p-value of McNemar's exact test from the two discordant counts."""
    discordant = a_only + b_only
    return 1.0 if discordant == 0 else float(binomtest(a_only, discordant, 0.5).pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given: compare each with LEVEL."""
    order = np.argsort(p_values)
    ranked = np.asarray(p_values, dtype=np.float64)[order] * (len(p_values) - np.arange(len(p_values)))
    adjusted = np.empty(len(p_values))
    adjusted[order] = np.minimum(np.maximum.accumulate(ranked), 1.0)
    return adjusted.tolist()


def seed_groups(specs: Mapping[str, Mapping]) -> list[list[str]]:
    """Run ids grouped by resolved spec (`ExperimentSpec.model_dump(mode="json")`, nested)
    with SEED_FIELDS left out, so that each group differs only in `train.seed`; groups and
    their runs keep the order given. A run with the seed of an earlier run of its group is
    the same experiment under another name (a renamed file run again), which would count
    twice: it stays a group of its own, with a warning."""
    groups: dict[str, list[str]] = {}
    seeds: dict[str, dict[object, str]] = {}
    apart: list[list[str]] = []
    for run, spec in specs.items():
        key = json.dumps(_without(spec, SEED_FIELDS), sort_keys=True)
        seed = spec.get("train", {}).get("seed")
        twin = seeds.setdefault(key, {}).get(seed)
        if twin is not None:
            log.warning("runs '%s' and '%s' are the same experiment (train.seed %s) under two names: "
                        "not merged as seeds", twin, run, seed)
            apart.append([run])
            continue
        seeds[key][seed] = run
        groups.setdefault(key, []).append(run)
    return list(groups.values()) + apart


def summarise_seeds(values: Sequence[float]) -> SeedSummary:
    """One metric over the runs of a seed group."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("summarise_seeds needs at least one value")
    std = float(values.std(ddof=1)) if values.size > 1 else None
    return SeedSummary(float(values.mean()), std, int(values.size))


def _interval(cells: _Cells, statistic: Callable[[np.ndarray], np.ndarray], confidence: float) -> Interval:
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(statistic(cells.resampled), [tail, 100 - tail])
    return Interval(float(statistic(cells.observed)[0]), float(low), float(high))


def _without(spec: Mapping, paths: Sequence[tuple[str, ...]]) -> dict:
    """A copy of the nested `spec` without the dotted `paths`."""
    spec = dict(spec)
    for head, *rest in paths:
        if head in spec and rest:
            spec[head] = _without(spec[head], [tuple(rest)])
        elif head in spec:
            del spec[head]
    return spec
