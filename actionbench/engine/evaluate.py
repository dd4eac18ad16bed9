"""Evaluation: every view of a video is scored and the scores are averaged per video.

With several processes each scores its own slice of the list (`samplers.ShardSampler`, no
padding) and the per-video scores are gathered in list order, so every video counts once.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..core.distributed import all_gather, is_main
from ..core.metrics import classification_metrics
from ..core.model_input import to_model_input
from ..core.precision import autocast


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device, amp: str = "none",
            aggregate: str = "softmax", desc: str = "eval") -> tuple[torch.Tensor, torch.Tensor]:
    """(per-video class probabilities, labels), in list order, over all processes. A video's
    views are averaged after their softmax, or (`aggregate="logits"`, the TSM and IBM test
    scripts' rule) as logits, the softmax taken of the mean. `model` is the bare network,
    never a DDP wrapper: the shards may differ in length."""
    model.eval()
    all_scores, all_labels = [], []
    for videos, labels in tqdm(loader, desc=desc, leave=False, disable=None if is_main() else True):
        batch, views = videos.shape[:2]
        with autocast(device, amp):
            logits = model(to_model_input(videos, device))
        logits = logits.float().view(batch, views, -1)
        scores = (logits.mean(dim=1).softmax(dim=1) if aggregate == "logits"
                  else logits.softmax(dim=2).mean(dim=1))
        all_scores.append(scores.cpu())
        all_labels.append(labels)
    shards = [shard for shard in all_gather((all_scores, all_labels)) if shard[0]]
    return (torch.cat([score for scores, _ in shards for score in scores]),
            torch.cat([label for _, labels in shards for label in labels]))


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device,
             amp: str = "none", aggregate: str = "softmax") -> dict[str, float]:
    scores, labels = predict(model, loader, device, amp, aggregate)
    metrics = classification_metrics(scores, labels)
    metrics["val_loss"] = nn.functional.nll_loss(scores.clamp_min(1e-12).log(), labels).item()
    metrics["val_videos"] = len(labels)
    return metrics
