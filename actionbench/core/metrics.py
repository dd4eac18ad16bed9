"""Video-level accuracy metrics computed from accumulated scores."""

from __future__ import annotations

import torch


def topk_correct(scores: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Per-sample booleans: is the label among the k best scores?"""
    k = min(k, scores.shape[1])
    return (scores.topk(k, dim=1).indices == labels[:, None]).any(dim=1)


def classification_metrics(scores: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """top-1, top-5 and mean class accuracy (the mean of per-class recalls), in percent."""
    top1 = topk_correct(scores, labels, 1)
    top5 = topk_correct(scores, labels, 5)
    present = labels.unique()
    per_class = torch.stack([top1[labels == label].float().mean() for label in present])
    return {
        "top1": 100 * top1.float().mean().item(),
        "top5": 100 * top5.float().mean().item(),
        "mean_class_acc": 100 * per_class.mean().item(),
    }
