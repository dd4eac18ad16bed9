"""Fusing saved predictions: the fused top-1 is the one of the scores averaged by hand, in
either space and with weights; runs that are not paired video by video are refused in one
line naming both runs and the difference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from actionbench.core.errors import UserError
from actionbench.report.fusion import fuse
from actionbench.store.predictions import Predictions, read_predictions, write_predictions

VIDEOS, CLASSES = 300, 6


def run(seed, labels, strength=1.0, kind="logits", classes=CLASSES, ids=None):
    """Noisy logits leaning towards the label, saved as logits or probabilities."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(labels), classes))
    logits[np.arange(len(labels)), labels] += strength
    scores = logits if kind == "logits" else softmax(logits, axis=1)
    ids = ids if ids is not None else [f"v{index:04d}" for index in range(len(labels))]
    return Predictions(scores, labels, ids, kind)


@pytest.fixture
def labels():
    return np.random.default_rng(99).integers(0, CLASSES, VIDEOS)


def top1(scores, labels):
    return 100 * np.mean(np.argmax(scores, axis=1) == labels)


@pytest.mark.parametrize("space, weights", [("logits", None), ("logits", (1.0, 1.5)),
                                            ("probabilities", None), ("probabilities", (3.0, 1.0))])
def test_fused_top1_is_the_top1_of_the_hand_averaged_scores(tmp_path, labels, space, weights):
    rgb, flow = run(1, labels), run(2, labels, strength=1.3, kind="probabilities")
    paths = {name: tmp_path / f"{name}.npz" for name in ("rgb", "flow")}
    write_predictions(paths["rgb"], rgb)
    write_predictions(paths["flow"], flow)
    saved = {name: read_predictions(path) for name, path in paths.items()}
    fused = fuse(saved, space=space, weights=weights)

    w_rgb, w_flow = weights or (1.0, 1.0)
    if space == "logits":
        by_hand = w_rgb * rgb.scores + w_flow * np.log(flow.scores)
    else:
        by_hand = w_rgb * softmax(rgb.scores.astype(np.float64), axis=1) + w_flow * flow.scores
    assert fused.kind == space
    assert fused.metrics()["top1"] == pytest.approx(top1(by_hand, labels))
    alone = {rgb.metrics()["top1"], flow.metrics()["top1"]}
    assert fused.metrics()["top1"] not in alone, "the case must tell fusion from either run alone"


def test_logit_fusion_of_probabilities_equals_fusion_of_their_logits(labels):
    """Log-probabilities differ from logits by one constant per video: the same fused softmax."""
    logits = {name: run(seed, labels) for name, seed in (("a", 1), ("b", 2))}
    probabilities = {name: Predictions(softmax(p.scores, axis=1), p.labels, p.video_ids, "probabilities")
                     for name, p in logits.items()}
    from_logits = fuse(logits, weights=(2, 1))
    from_probabilities = fuse(probabilities, weights=(2, 1))
    np.testing.assert_allclose(softmax(from_probabilities.scores, axis=1),
                               softmax(from_logits.scores, axis=1), atol=1e-6)


def test_probability_fusion_is_a_distribution(labels):
    fused = fuse({"a": run(1, labels), "b": run(2, labels, kind="probabilities")}, space="probabilities")
    np.testing.assert_allclose(fused.scores.sum(axis=1), 1, atol=1e-6)


def refusal(runs, **options):
    with pytest.raises(UserError) as error:
        fuse(runs, **options)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_different_class_counts_are_refused(labels):
    message = refusal({"rgb": run(1, labels), "kinetics": run(2, labels, classes=CLASSES + 4)})
    assert "'rgb'" in message and "'kinetics'" in message and "class counts (6 vs 10)" in message


def test_different_video_lists_are_refused(labels):
    message = refusal({"full": run(1, labels), "shard": run(2, labels[:-1])})
    assert "'full'" in message and "'shard'" in message and "300 vs 299 videos" in message
    renamed = [f"v{index:04d}" for index in range(VIDEOS)]
    renamed[7] = "other/video"
    message = refusal({"a": run(1, labels), "b": run(2, labels, ids=renamed)})
    assert "video ids differ at 1 of 300 positions, first at position 7" in message
    assert "v0007" in message and "other/video" in message
    relabelled = labels.copy()
    relabelled[[3, 5]] = (labels[[3, 5]] + 1) % CLASSES
    message = refusal({"a": run(1, labels), "b": run(2, relabelled)})
    assert "labels differ at 2 of 300 positions, first at position 3" in message


def test_bad_fusion_requests_are_refused(labels):
    a, b = run(1, labels), run(2, labels)
    assert "at least two runs" in refusal({"a": a})
    assert "2 given for 3 runs" in refusal({"a": a, "b": b, "c": a}, weights=(1, 2))
    assert "positive numbers" in refusal({"a": a, "b": b}, weights=(1, -1))
    assert "fusion space 'mean'" in refusal({"a": a, "b": b}, space="mean")
