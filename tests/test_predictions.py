"""The predictions file: a round trip keeps every array and re-scores exactly as the evaluation
did; a damaged, altered or foreign file is refused with a UserError naming it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from actionbench.core.errors import UserError
from actionbench.core.metrics import classification_metrics
from actionbench.store.predictions import (
    Predictions,
    read_predictions,
    require_same_videos,
    video_list_sha256,
    write_predictions,
)

VIDEOS, VIEWS, CLASSES = 40, 3, 7


def view_probabilities(seed=0):
    """(per-view softmax scores (videos, views, classes), labels), about half of them right."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, CLASSES, (VIDEOS,), generator=generator)
    logits = torch.randn(VIDEOS, VIEWS, CLASSES, generator=generator)
    logits[torch.arange(VIDEOS), :, labels] += 1.0
    return logits.softmax(dim=2), labels


def ids(count=VIDEOS):
    return [f"class_{index % 5}/video_{index:03d}" for index in range(count)]


@pytest.fixture
def saved(tmp_path):
    views, labels = view_probabilities()
    predictions = Predictions(views.mean(dim=1), labels, ids(), "probabilities", view_scores=views)
    path = tmp_path / "predictions.npz"
    return path, write_predictions(path, predictions), predictions, (views, labels)


def test_round_trip_keeps_every_array_and_the_digest_is_the_files(saved):
    path, digest, written, _ = saved
    read = read_predictions(path, sha256=digest)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    for name in ("scores", "labels", "video_ids", "view_scores"):
        np.testing.assert_array_equal(getattr(read, name), getattr(written, name))
    assert (read.kind, read.views, read.num_classes, read.num_videos) == ("probabilities", VIEWS, CLASSES,
                                                                          VIDEOS)
    assert read.video_list_sha256 == written.video_list_sha256
    assert not list(path.parent.glob(".*.tmp")), "the atomic write left its temporary file"


def test_rescoring_the_file_gives_what_the_evaluation_computed(saved):
    path, _, _, (views, labels) = saved
    expected = classification_metrics(views.mean(dim=1), labels)
    assert read_predictions(path).metrics() == pytest.approx(expected, abs=1e-9)
    assert 0 < expected["top1"] < 100, "the fixture must have right and wrong videos"


def test_single_view_predictions_need_no_view_scores(tmp_path):
    logits = np.random.default_rng(0).normal(size=(VIDEOS, CLASSES))
    labels = np.arange(VIDEOS) % CLASSES
    write_predictions(tmp_path / "p.npz", Predictions(logits, labels, ids(), "logits"))
    read = read_predictions(tmp_path / "p.npz")
    assert read.view_scores is None and read.views == 1 and read.kind == "logits"
    np.testing.assert_array_equal(read.scores, logits.astype(np.float32))


def test_class_names_travel_with_the_scores_and_must_agree_between_runs(tmp_path):
    views, labels = view_probabilities()
    names = [f"class {label}" for label in range(CLASSES)]
    write_predictions(tmp_path / "p.npz", Predictions(views.mean(dim=1), labels, ids(), "probabilities",
                                                      class_names=names))
    read = read_predictions(tmp_path / "p.npz")
    assert read.class_names.tolist() == names
    renamed = Predictions(read.scores, read.labels, read.video_ids, read.kind,
                          class_names=names[:3] + ["other"] + names[4:])
    with pytest.raises(UserError, match="different class names, first at label 3 .'class 3' vs 'other'."):
        require_same_videos("fuse", "a", read, "b", renamed)
    unnamed = Predictions(read.scores, read.labels, read.video_ids, read.kind)
    require_same_videos("fuse", "a", read, "b", unnamed)  # names missing on one side: nothing to compare


def test_video_list_digest_depends_on_order_and_labels():
    videos, labels = np.array(ids(3)), np.array([0, 1, 2])
    digest = video_list_sha256(videos, labels)
    assert digest == hashlib.sha256(b"".join(f"{v} {label}\n".encode() for v, label in zip(videos, labels))
                                    ).hexdigest()
    assert video_list_sha256(videos[::-1], labels[::-1]) != digest
    assert video_list_sha256(videos, np.array([0, 1, 1])) != digest


@pytest.mark.parametrize("change, message", [
    (dict(kind="scores"), "scores kind 'scores'"),
    (dict(labels=np.full(VIDEOS, CLASSES)), "labels must lie in [0, 6]"),
    (dict(video_ids=ids(VIDEOS - 1)), "video_ids must be (40,)"),
    (dict(scores=np.full((VIDEOS, CLASSES), 0.5)), "rows summing to 1"),
    (dict(scores=np.full((VIDEOS, CLASSES), np.nan)), "NaN"),
    (dict(view_scores=np.full((VIDEOS, VIEWS, CLASSES), 1 / CLASSES)), "not the mean of view_scores"),
    (dict(class_names=["a", "b"]), "class_names must be (7,)"),
])
def test_inconsistent_parts_are_refused(change, message):
    views, labels = view_probabilities()
    parts = dict(scores=views.mean(dim=1), labels=labels, video_ids=ids(), kind="probabilities",
                 view_scores=views)
    with pytest.raises(ValueError) as error:
        Predictions(**{**parts, **change})
    assert message in str(error.value)


def rewrite(path, **arrays):
    """The archive at `path` with some arrays replaced (None removes one)."""
    with np.load(path) as archive:
        content = {name: archive[name] for name in archive.files}
    content.update(arrays)
    np.savez_compressed(path, **{name: array for name, array in content.items() if array is not None})


def stored(path, name):
    with np.load(path) as archive:
        return archive[name]


def flip_middle_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def meta_with(path, **fields):
    return np.array(json.dumps({**json.loads(str(stored(path, "meta"))), **fields}))


DAMAGES = {
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:-100]), "not a readable numpy"),
    "flipped byte": (flip_middle_byte, "not a readable numpy"),
    "not an archive": (lambda p: p.write_text("top1: 61.2\n"), "not a readable numpy"),
    "pickled ids": (lambda p: rewrite(p, video_ids=np.array(ids(), dtype=object)), "not a readable numpy"),
    "labels missing": (lambda p: rewrite(p, labels=None), "missing array(s) labels"),
    "float labels": (lambda p: rewrite(p, labels=np.zeros(VIDEOS)), "'labels' holds float64"),
    "extra array": (lambda p: rewrite(p, weights=np.zeros(3)), "unexpected array 'weights'"),
    "foreign meta": (lambda p: rewrite(p, meta=np.array("{}")), "not an actionbench predictions file"),
    "newer version": (lambda p: rewrite(p, meta=meta_with(p, version=99)), "format version 99"),
    "meta not JSON": (lambda p: rewrite(p, meta=np.array("scores: logits")), "not a JSON object"),
    "wrong class count": (lambda p: rewrite(p, meta=meta_with(p, classes=8)), "'classes' is 8"),
    "edited label": (lambda p: rewrite(p, labels=np.roll(stored(p, "labels"), 1)), "'video_list_sha256'"),
    "unscaled scores": (lambda p: rewrite(p, scores=2 * stored(p, "scores")), "rows summing to 1"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_file_is_a_user_error_naming_it(saved, damage):
    path, _, _, _ = saved
    damage_file, message = DAMAGES[damage]
    damage_file(path)
    with pytest.raises(UserError) as error:
        read_predictions(path)
    assert str(path) in str(error.value) and message in str(error.value)
    assert "\n" not in str(error.value)


def test_the_digest_names_the_content(saved):
    """The same predictions give the same bytes (the record's digest is reproducible); other
    valid predictions in their place are refused against the record's digest."""
    path, digest, written, _ = saved
    assert write_predictions(path, written) == digest
    views, labels = view_probabilities(seed=1)
    write_predictions(path, Predictions(views.mean(dim=1), labels, ids(), "probabilities", view_scores=views))
    read_predictions(path)
    with pytest.raises(UserError, match="sha256 is not the one its record names"):
        read_predictions(path, sha256=digest)


def test_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_predictions(tmp_path / "predictions.npz")

