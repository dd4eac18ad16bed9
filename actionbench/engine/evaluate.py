"""Evaluation: every view of a video is scored and the scores are averaged per video.

With several processes each scores its own slice of the list (`samplers.ShardSampler`, no
padding) and the per-video scores are gathered in list order, so every video counts once.
What `predict` returns is also what the run store saves as the run's predictions file
(`store/predictions.py`), so a finished evaluation can be re-scored, bootstrapped, compared
and fused without the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..core.distributed import all_gather, is_main
from ..core.metrics import classification_metrics
from ..core.model_input import to_model_input
from ..core.precision import autocast

AGGREGATE_KIND = {"softmax": "probabilities", "logits": "logits"}
"""What the per-video scores are under each `eval.aggregate` rule."""
VIEW_SCORES_LIMIT = 50_000_000
"""Per-view scores kept per process at most (200 MB of float32): Something-Something V2's 2 × 3
views fit (24,777 × 6 × 174 = 26 M), Kinetics-400's 10 × 3 do not (19,881 × 30 × 400 = 239 M),
and beyond the limit only the video scores are kept."""


@dataclass(frozen=True)
class VideoScores:
    """One evaluation's scores, in list order, on the CPU.

    `scores` is the mean of the video's view scores; under `eval.aggregate: softmax` both are
    softmax probabilities, under `logits` (the TSM and IBM test scripts' rule) both are raw
    logits, whose mean the softmax is taken of."""

    scores: torch.Tensor
    """(videos, classes) float32."""
    labels: torch.Tensor
    """(videos,) int64."""
    kind: str
    """'probabilities' or 'logits', for `scores` and `view_scores` alike."""
    view_scores: torch.Tensor | None
    """(videos, views, classes), or None when each video has one view, or when they would
    exceed VIEW_SCORES_LIMIT on a process."""

    @property
    def probabilities(self) -> torch.Tensor:
        return self.scores if self.kind == "probabilities" else self.scores.softmax(dim=1)


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device, amp: str = "none",
            aggregate: str = "softmax", desc: str = "eval") -> VideoScores:
    """Every video's scores, over all processes. A video's views are averaged after their
    softmax, or (`aggregate="logits"`) as logits. `model` is the bare network, never a DDP
    wrapper: the shards may differ in length."""
    model.eval()
    kind = AGGREGATE_KIND[aggregate]
    scores_of, views_of, labels_of, kept = [], [], [], 0
    for videos, labels in tqdm(loader, desc=desc, leave=False, disable=None if is_main() else True):
        batch, views = videos.shape[:2]
        with autocast(device, amp):
            logits = model(to_model_input(videos, device))
        logits = logits.float().view(batch, views, -1)
        view_scores = (logits if kind == "logits" else logits.softmax(dim=2)).cpu()
        scores_of.append(view_scores.mean(dim=1))
        labels_of.append(labels)
        kept += view_scores.numel()
        if views_of is not None:
            views_of.append(view_scores)
            if views == 1 or kept > VIEW_SCORES_LIMIT:
                views_of = None
    shards = [shard for shard in all_gather((scores_of, views_of, labels_of)) if shard[0]]
    complete = all(views is not None for _, views, _ in shards)
    return VideoScores(torch.cat([batch for scores, _, _ in shards for batch in scores]),
                       torch.cat([batch for _, _, labels in shards for batch in labels]), kind,
                       torch.cat([batch for _, views, _ in shards for batch in views]) if complete else None)


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device, amp: str = "none",
             aggregate: str = "softmax",
             on_predictions: Callable[[VideoScores], None] | None = None) -> dict[str, float]:
    """The metrics of one evaluation. `on_predictions` receives its scores on every process
    (the run store's writer saves them on rank 0)."""
    scored = predict(model, loader, device, amp, aggregate)
    if on_predictions is not None:
        on_predictions(scored)
    probabilities, labels = scored.probabilities, scored.labels
    metrics = classification_metrics(probabilities, labels)
    metrics["val_loss"] = nn.functional.nll_loss(probabilities.clamp_min(1e-12).log(), labels).item()
    metrics["val_videos"] = len(labels)
    return metrics
