"""Per class: which classes a model gets wrong and what it takes them for, from its saved
predictions. A mean-class accuracy far below top-1 means a few classes fail, and the confused
pairs say which (on synthmotion an order-blind model confuses each motion with its reversal).

The report's per-class section and files are `class_report.py`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..store.predictions import Predictions

SHOWN = 3
"""Hardest classes and confused pairs named per row in the README."""


@dataclass(frozen=True)
class Confusion:
    true: int
    predicted: int
    videos: int
    share: float
    """Of the true class's videos, in percent."""


def confusion_matrix(predictions: Predictions) -> np.ndarray:
    """(classes, classes) counts: row = true class, column = top-1 prediction."""
    classes = predictions.num_classes
    predicted = predictions.scores.argmax(axis=1)
    cells = np.bincount(predictions.labels * classes + predicted, minlength=classes * classes)
    return cells.reshape(classes, classes)


def per_class_accuracy(predictions: Predictions) -> np.ndarray:
    """Top-1 of each class in percent; NaN for a class with no video in the list."""
    matrix = confusion_matrix(predictions)
    videos = matrix.sum(axis=1)
    return np.divide(100 * np.diag(matrix), videos, out=np.full(len(videos), np.nan), where=videos > 0)


def top_confusions(predictions: Predictions, count: int) -> list[Confusion]:
    """The `count` largest off-diagonal cells, most videos first (ties: lower labels first)."""
    matrix = confusion_matrix(predictions)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:count]
    videos = matrix.sum(axis=1)
    return [Confusion(int(true), int(predicted), int(off[true, predicted]),
                      100 * off[true, predicted] / videos[true])
            for true, predicted in zip(*np.unravel_index(order, off.shape)) if off[true, predicted]]


def class_name(predictions: Predictions, label: int) -> str:
    names = predictions.class_names
    return str(names[label]) if names is not None else str(label)


def hardest_classes(predictions: Predictions, count: int = SHOWN) -> str:
    accuracy = per_class_accuracy(predictions)
    order = [label for label in np.argsort(accuracy, kind="stable") if not np.isnan(accuracy[label])]
    return ", ".join(f"{class_name(predictions, label)} {accuracy[label]:.0f}" for label in order[:count])


def confused_pairs(predictions: Predictions, count: int = SHOWN) -> str:
    pairs = top_confusions(predictions, count)
    return ", ".join(f"{class_name(predictions, pair.true)} → {class_name(predictions, pair.predicted)} "
                     f"({pair.videos})" for pair in pairs) or "none"

