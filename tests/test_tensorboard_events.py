"""TensorBoard event files beside `metrics.jsonl`: one scalar per number of an epoch's line, at
the epoch's step, and a resumed run that repeats an epoch replaces its points instead of adding
a second set (the writer's `purge_step`)."""

from __future__ import annotations

import pytest

from actionbench.store.tensorboard_events import tag, write_epoch_events

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def scalars(run_dir) -> dict[str, list[tuple[int, float]]]:
    events = event_accumulator.EventAccumulator(str(run_dir))
    events.Reload()
    return {name: [(point.step, point.value) for point in events.Scalars(name)]
            for name in events.Tags()["scalars"]}


def test_each_number_of_an_epoch_becomes_a_scalar_at_its_epoch(tmp_path):
    write_epoch_events(tmp_path, {"epoch": 1, "train_loss": 2.5, "lr": 0.1, "top1": 10.0, "val_loss": 2.25,
                                  "val_videos": 10, "note": "text is left out", "flag": True})
    write_epoch_events(tmp_path, {"epoch": 2, "train_loss": 2.0, "lr": 0.05, "top1": 20.0, "val_loss": 2.0,
                                  "val_videos": 10, "note": "", "flag": False})
    assert scalars(tmp_path) == {
        "train/loss": [(1, 2.5), (2, 2.0)], "train/lr": [(1, pytest.approx(0.1)), (2, pytest.approx(0.05))],
        "val/top1": [(1, 10.0), (2, 20.0)], "val/loss": [(1, 2.25), (2, 2.0)],
        "val/videos": [(1, 10.0), (2, 10.0)]}


def test_a_resumed_run_replaces_the_points_of_the_epochs_it_repeats(tmp_path):
    for epoch, loss in ((1, 3.0), (2, 2.0), (3, 1.0)):
        write_epoch_events(tmp_path, {"epoch": epoch, "train_loss": loss})
    for epoch, loss in ((2, 2.5), (3, 1.5)):  # resumed from epoch 1's checkpoint
        write_epoch_events(tmp_path, {"epoch": epoch, "train_loss": loss})
    assert scalars(tmp_path)["train/loss"] == [(1, 3.0), (2, 2.5), (3, 1.5)]


@pytest.mark.parametrize("key, expected", [("train_loss", "train/loss"), ("train_top1", "train/top1"),
                                           ("val_loss", "val/loss"), ("lr", "train/lr"),
                                           ("epoch_time_s", "train/epoch_time_s"), ("top5", "val/top5"),
                                           ("mean_class_acc", "val/mean_class_acc")])
def test_tags_group_the_charts_by_phase(key, expected):
    assert tag(key) == expected
