"""Evaluation: a video's views averaged as probabilities or as logits (`eval.aggregate`)."""

from __future__ import annotations

import torch
from torch import nn

from actionbench.engine.evaluate import evaluate, predict


class FixedViews(nn.Module):
    """Returns the same logits for every batch: one row per view."""

    def __init__(self, logits: list[list[float]]):
        super().__init__()
        self.register_buffer("logits", torch.tensor(logits))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        assert clips.shape[0] == len(self.logits)
        return self.logits


def test_views_averaged_as_softmax_or_as_logits_pick_different_classes():
    # view 1 is sure of class 0, view 2 of not-class-0: their probabilities average to class 0,
    # their logits to class 1 (0 = (20 - 20) / 2 < 1)
    model = FixedViews([[20.0, 1.0, 0.0], [-20.0, 1.0, 0.0]])
    batches = [(torch.zeros(1, 2, 4, 3, 8, 8, dtype=torch.uint8), torch.tensor([1]))]
    cpu = torch.device("cpu")
    softmax, _ = predict(model, batches, cpu)
    logits, labels = predict(model, batches, cpu, aggregate="logits")
    assert softmax.argmax(1).item() == 0 and logits.argmax(1).item() == 1
    torch.testing.assert_close(logits, torch.tensor([[0.0, 1.0, 0.0]]).softmax(1))
    assert evaluate(model, batches, cpu, aggregate="logits")["top1"] == 100.0
    assert evaluate(model, batches, cpu)["top1"] == 0.0 and labels.tolist() == [1]
