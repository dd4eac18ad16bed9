"""What one experiment confuses: its confusion matrix (rows normalised to the true class's
videos) while the classes fit in a readable grid, and beyond that the TOP_CONFUSIONS largest
confusions as bars, since a 174 × 174 matrix of Something-Something prints as noise."""

from __future__ import annotations

from pathlib import Path
from textwrap import shorten

import numpy as np

from ...store.predictions import Predictions
from ..per_class import class_name, confusion_matrix, top_confusions
from .style import FigureFile, new_figure, save

MATRIX_MAX_CLASSES = 50
"""Up to this many classes the matrix is drawn, with names up to ANNOTATED_CLASSES."""
ANNOTATED_CLASSES = 12
"""Up to this many classes every cell prints its share."""
TOP_CONFUSIONS = 20
NAME_CHARS = 28


def plot_confusions(predictions: Predictions, title: str, path: Path) -> FigureFile:
    if predictions.num_classes <= MATRIX_MAX_CLASSES:
        return _matrix(predictions, title, path)
    return _top_confusions(predictions, title, path)


def _names(predictions: Predictions) -> list[str]:
    return [shorten(class_name(predictions, label), NAME_CHARS, placeholder="…")
            for label in range(predictions.num_classes)]


def _matrix(predictions: Predictions, title: str, path: Path) -> FigureFile:
    counts = confusion_matrix(predictions)
    videos = counts.sum(axis=1, keepdims=True)
    shares = np.divide(100 * counts, videos, out=np.zeros(counts.shape), where=videos > 0)
    classes = predictions.num_classes
    fig, (ax,) = new_figure(min(6.4, 2.2 + 0.32 * classes))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=100)
    named = classes <= MATRIX_MAX_CLASSES and predictions.class_names is not None
    ticks = range(classes)
    ax.set_xticks(ticks, _names(predictions) if named else ticks, rotation=90 if named else 0,
                  fontsize=7 if classes <= ANNOTATED_CLASSES else 5)
    ax.set_yticks(ticks, _names(predictions) if named else ticks,
                  fontsize=7 if classes <= ANNOTATED_CLASSES else 5)
    ax.grid(False)
    if classes <= ANNOTATED_CLASSES:
        for (true, predicted), share in np.ndenumerate(shares):
            if counts[true, predicted]:
                ax.text(predicted, true, f"{share:.0f}", ha="center", va="center", fontsize=6.5,
                        color="white" if share > 60 else "black")
    ax.set_xlabel("predicted class (top-1)")
    ax.set_ylabel("true class")
    ax.set_title(f"{title}: % of each true class's videos")
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    fig.tight_layout()
    return save(fig, path)


def _top_confusions(predictions: Predictions, title: str, path: Path) -> FigureFile:
    pairs = top_confusions(predictions, TOP_CONFUSIONS)
    names = _names(predictions)
    fig, (ax,) = new_figure(1.2 + 0.22 * max(len(pairs), 1))
    positions = np.arange(len(pairs))[::-1]
    ax.barh(positions, [pair.share for pair in pairs], color="tab:blue")
    ax.set_yticks(positions, [f"{names[pair.true]} → {names[pair.predicted]} ({pair.videos})"
                              for pair in pairs], fontsize=6.5)
    ax.set_xlabel("% of the true class's videos given the other class (videos)")
    ax.set_title(f"{title}: the {len(pairs)} most frequent confusions")
    fig.tight_layout()
    return save(fig, path)
