"""The report's statistics against closed forms: the bootstrap interval of a binomial count, the
exact McNemar p-value summed by hand, Holm's adjustment, seed groups and their summary."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from actionbench.core.errors import UserError
from actionbench.core.metrics import classification_metrics
from actionbench.report.statistics import (
    _Cells,
    accuracy_intervals,
    compare,
    holm,
    mcnemar_exact,
    seed_groups,
    summarise_seeds,
)
from actionbench.store.predictions import Predictions

CLASSES = 10


def predicting(labels, predicted):
    """Predictions whose best class is `predicted`, the other classes in a fixed order after it."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    scores = np.tile(-np.arange(CLASSES, dtype=np.float32) / CLASSES, (len(labels), 1))
    scores[np.arange(len(labels)), predicted] = 1.0
    return Predictions(scores, labels, [f"v{index}" for index in range(len(labels))], "logits")


def with_correct(correct, seed=0):
    """Predictions on labels drawn at random, right exactly where `correct` is True."""
    labels = np.random.default_rng(seed).integers(0, CLASSES, len(correct))
    return predicting(labels, np.where(correct, labels, (labels + 1) % CLASSES))


def test_600_of_1000_matches_the_normal_approximation():
    correct = np.zeros(1000, dtype=bool)
    correct[:600] = True
    intervals = accuracy_intervals(with_correct(correct))
    half_width = 100 * 1.959964 * math.sqrt(0.6 * 0.4 / 1000)
    assert intervals["top1"].estimate == pytest.approx(60.0)
    assert intervals["top1"].low == pytest.approx(60.0 - half_width, abs=0.5)
    assert intervals["top1"].high == pytest.approx(60.0 + half_width, abs=0.5)


def test_estimates_are_the_evaluations_metrics():
    """Unbalanced classes, one class never predicted right, top-5 differing from top-1."""
    rng = np.random.default_rng(3)
    labels = np.minimum(rng.geometric(0.3, 500) - 1, CLASSES - 1)
    logits = rng.normal(size=(500, CLASSES)).astype(np.float32)
    logits[np.arange(500), labels] += 1.5
    logits[labels == 4, 4] = -10
    predictions = Predictions(logits, labels, [f"v{index}" for index in range(500)], "logits")
    expected = classification_metrics(torch.from_numpy(logits), torch.from_numpy(labels))
    intervals = accuracy_intervals(predictions)
    assert {name: interval.estimate for name, interval in intervals.items()} == pytest.approx(expected)
    for interval in intervals.values():
        assert interval.low < interval.estimate < interval.high


def test_cell_counts_resample_like_drawing_video_indices():
    """The multinomial over cells against the textbook bootstrap: N video indices drawn with
    replacement, each resample scored by the evaluation's own metric. One class has a single
    video, so that many resamples lack it and only the classes present count."""
    rng = np.random.default_rng(5)
    labels = np.r_[rng.integers(0, CLASSES - 1, 399), CLASSES - 1]
    right = rng.random(400) < np.linspace(0.2, 0.9, CLASSES)[labels]
    right[-1] = True
    predictions = predicting(labels, np.where(right, labels, (labels + 1) % CLASSES))
    cells = _Cells(labels, [predictions.correct(1)] * 2, resamples=4000, seed=1)
    by_cells = cells.metric("mean_class_acc")(cells.resampled)
    scores, targets = torch.from_numpy(predictions.scores), torch.from_numpy(labels)
    by_indices = [classification_metrics(scores[row], targets[row])["mean_class_acc"]
                  for row in torch.from_numpy(rng.integers(0, 400, size=(300, 400)))]
    assert np.mean(by_cells) == pytest.approx(np.mean(by_indices), abs=0.6)
    assert np.std(by_cells) == pytest.approx(np.std(by_indices), rel=0.15)


def test_the_seed_fixes_the_interval():
    predictions = with_correct(np.random.default_rng(0).random(300) < 0.7)
    assert accuracy_intervals(predictions, seed=4) == accuracy_intervals(predictions, seed=4)
    assert accuracy_intervals(predictions, seed=4) != accuracy_intervals(predictions, seed=5)


def test_mcnemar_on_a_hand_made_table():
    """A right and B wrong on 3 videos, the reverse on 12, both right on 50, both wrong on 35:
    p = 2 * sum_{i<=3} C(15, i) / 2^15."""
    a_right = np.r_[np.ones(3), np.zeros(12), np.ones(50), np.zeros(35)].astype(bool)
    b_right = np.r_[np.zeros(3), np.ones(12), np.ones(50), np.zeros(35)].astype(bool)
    labels = np.random.default_rng(0).integers(0, CLASSES, 100)
    wrong = (labels + 1) % CLASSES
    comparison = compare("a", predicting(labels, np.where(a_right, labels, wrong)),
                         "b", predicting(labels, np.where(b_right, labels, wrong)))
    by_hand = 2 * sum(math.comb(15, i) for i in range(4)) / 2 ** 15
    assert (comparison.a_only, comparison.b_only) == (3, 12)
    assert comparison.p_value == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(0.03515625) and comparison.significant
    assert comparison.differences["top1"].estimate == pytest.approx(53 - 62)


def test_mcnemar_without_a_difference():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(7, 7) == 1.0
    assert mcnemar_exact(12, 3) == mcnemar_exact(3, 12)


def test_paired_bootstrap_uses_the_pairing():
    """B is A with 20 of 2,000 videos flipped: unpaired, the difference would be as uncertain
    as two independent accuracies; paired, only the flipped videos vary."""
    rng = np.random.default_rng(2)
    a_right = rng.random(2000) < 0.6
    b_right = a_right.copy()
    b_right[:20] = ~b_right[:20]
    a, b = with_correct(a_right), with_correct(b_right)
    difference = compare("a", a, "b", b).differences["top1"]
    assert difference.estimate == pytest.approx(a.metrics()["top1"] - b.metrics()["top1"], abs=1e-4)
    unpaired = math.hypot(accuracy_intervals(a)["top1"].half_width, accuracy_intervals(b)["top1"].half_width)
    assert difference.half_width < unpaired / 5
    same = compare("a", a, "a again", a)
    assert same.p_value == 1.0
    assert all((d.low, d.estimate, d.high) == (0, 0, 0) for d in same.differences.values())


def test_compare_refuses_different_video_lists():
    a = with_correct(np.ones(50, dtype=bool))
    with pytest.raises(UserError, match="cannot compare runs 'a' and 'b': different video lists"):
        compare("a", a, "b", with_correct(np.ones(49, dtype=bool)))


def test_holm_against_its_definition():
    """Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, then made non-decreasing."""
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def spec(method, seed, lr=0.01):
    return {"name": f"{method}-lr{lr}-seed{seed}", "model": {"method": method, "backbone": "resnet18"},
            "train": {"seed": seed, "lr": lr, "epochs": 5}, "data": {"frames": 8}}


def test_seed_groups_differ_only_in_the_seed():
    specs = {"tsm0": spec("tsm", 0), "tsn0": spec("tsn", 0), "tsm1": spec("tsm", 1),
             "tsm-lr": spec("tsm", 0, lr=0.02), "tsm2": spec("tsm", 2), "tsn1": spec("tsn", 1)}
    assert seed_groups(specs) == [["tsm0", "tsm1", "tsm2"], ["tsn0", "tsn1"], ["tsm-lr"]]
    assert specs["tsm0"]["train"]["seed"] == 0, "grouping must not edit the specs"


def test_one_experiment_under_two_names_is_kept_apart(caplog):
    twin = {**spec("tsm", 0), "name": "tsm-copy"}
    groups = seed_groups({"tsm0": spec("tsm", 0), "tsm1": spec("tsm", 1), "copy": twin})
    assert groups == [["tsm0", "tsm1"], ["copy"]]
    assert "runs 'tsm0' and 'copy' are the same experiment (train.seed 0)" in caplog.text


def test_seed_summary():
    values = [60.0, 61.0, 62.5]
    mean = sum(values) / 3
    summary = summarise_seeds(values)
    assert summary.mean == pytest.approx(mean)
    assert summary.std == pytest.approx(math.sqrt(sum((v - mean) ** 2 for v in values) / 2))
    assert summary.n == 3
    assert summarise_seeds([61.0]).std is None
