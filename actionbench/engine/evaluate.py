"""Evaluation: every view of a video is scored and the scores are averaged per video."""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data.normalize import to_model_input
from .metrics import classification_metrics


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on CUDA when asked; full precision on the CPU."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device, amp: bool = False,
            desc: str = "eval") -> tuple[torch.Tensor, torch.Tensor]:
    """(per-video scores averaged over views, labels), in dataset order."""
    model.eval()
    all_scores, all_labels = [], []
    for videos, labels in tqdm(loader, desc=desc, leave=False, disable=None):
        batch, views = videos.shape[:2]
        with autocast(device, amp):
            logits = model(to_model_input(videos, device))
        scores = logits.float().softmax(dim=1).view(batch, views, -1).mean(dim=1)
        all_scores.append(scores.cpu())
        all_labels.append(labels)
    return torch.cat(all_scores), torch.cat(all_labels)


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device,
             amp: bool = False) -> dict[str, float]:
    scores, labels = predict(model, loader, device, amp)
    metrics = classification_metrics(scores, labels)
    metrics["val_loss"] = nn.functional.nll_loss(scores.clamp_min(1e-12).log(), labels).item()
    return metrics
