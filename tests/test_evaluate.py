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
    softmax = predict(model, batches, cpu)
    logits = predict(model, batches, cpu, aggregate="logits")
    assert softmax.probabilities.argmax(1).item() == 0 and logits.probabilities.argmax(1).item() == 1
    torch.testing.assert_close(logits.probabilities, torch.tensor([[0.0, 1.0, 0.0]]).softmax(1))
    assert evaluate(model, batches, cpu, aggregate="logits")["top1"] == 100.0
    assert evaluate(model, batches, cpu)["top1"] == 0.0 and logits.labels.tolist() == [1]


def test_the_saved_scores_are_the_view_scores_and_their_mean_in_the_aggregate_space():
    model = FixedViews([[20.0, 1.0, 0.0], [-20.0, 1.0, 0.0]])
    batches = [(torch.zeros(1, 2, 4, 3, 8, 8, dtype=torch.uint8), torch.tensor([1]))] * 3
    saved = []
    evaluate(model, batches, torch.device("cpu"), aggregate="logits", on_predictions=saved.append)
    (scored,) = saved
    assert scored.kind == "logits" and scored.view_scores.shape == (3, 2, 3)
    torch.testing.assert_close(scored.view_scores[0], model.logits)
    torch.testing.assert_close(scored.scores, model.logits.mean(0).expand(3, 3))
    softmax = predict(model, batches, torch.device("cpu"))
    assert softmax.kind == "probabilities"
    torch.testing.assert_close(softmax.scores, model.logits.softmax(1).mean(0).expand(3, 3))


def test_one_view_per_video_keeps_no_view_scores():
    model = FixedViews([[0.0, 2.0, 1.0]])
    scored = predict(model, [(torch.zeros(1, 1, 4, 3, 8, 8, dtype=torch.uint8), torch.tensor([1]))],
                     torch.device("cpu"))
    assert scored.view_scores is None and scored.scores.shape == (1, 3)


def test_view_scores_beyond_the_limit_are_not_kept(monkeypatch):
    from actionbench.engine import evaluate as module

    model = FixedViews([[20.0, 1.0, 0.0], [-20.0, 1.0, 0.0]])
    batches = [(torch.zeros(1, 2, 4, 3, 8, 8, dtype=torch.uint8), torch.tensor([1]))] * 3
    monkeypatch.setattr(module, "VIEW_SCORES_LIMIT", 12)  # two batches of 2 views x 3 classes
    scored = predict(model, batches, torch.device("cpu"))
    assert scored.view_scores is None and scored.scores.shape == (3, 3)
    monkeypatch.setattr(module, "VIEW_SCORES_LIMIT", 18)
    assert predict(model, batches, torch.device("cpu")).view_scores.shape == (3, 2, 3)
