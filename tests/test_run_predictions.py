"""A run's predictions file: `run` and `eval` write it at the end of their evaluation, the
record names it with its digest, re-scoring it gives the record's metrics, and its video ids
follow the list less the skipped videos."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from conftest import tiny_experiment

from actionbench.cli import main
from actionbench.engine.evaluate import VideoScores
from actionbench.store.predictions import read_predictions
from actionbench.store.record import read_record
from actionbench.store.run_predictions import PREDICTIONS_FILE, PredictionsWriter, entry_of


@pytest.fixture(scope="module")
def trained(tmp_path_factory, synth_root):
    """One tiny TSM run, and `eval` of its checkpoint with the same protocol."""
    folder = tmp_path_factory.mktemp("run")
    spec = tiny_experiment(data__root=str(synth_root), train__batch_size=4, train__dropout=0.0)
    path = folder / "tiny.yaml"
    path.write_text(json.dumps(spec))
    runs = folder / "runs"
    assert main(["run", str(path), "--runs", str(runs), "--device", "cpu"]) == 0
    (run_dir,) = runs.glob("tiny-*")
    assert main(["eval", str(path), "--weights", str(run_dir / "checkpoint.pt"), "--runs", str(runs),
                 "--device", "cpu"]) == 0
    (eval_dir,) = runs.glob("tiny-w*")
    return run_dir, eval_dir, synth_root


def test_the_record_names_the_file_and_rescoring_it_gives_the_records_metrics(trained):
    run_dir, _, synth_root = trained
    record = read_record(run_dir / "result.json")
    entry = record.predictions
    assert entry.file == PREDICTIONS_FILE
    assert entry.sha256 == hashlib.sha256((run_dir / PREDICTIONS_FILE).read_bytes()).hexdigest()
    predictions = read_predictions(run_dir / entry.file, entry.sha256)
    assert predictions.metrics() == pytest.approx({"top1": record.top1, "top5": record.top5,
                                                   "mean_class_acc": record.mean_class_acc}, abs=1e-9)
    listed = [line.split() for line in (synth_root / "val.txt").read_text().splitlines()]
    assert predictions.video_ids.tolist() == [path for path, *_ in listed]
    assert predictions.labels.tolist() == [int(label) for *_, label in listed]
    assert predictions.class_names.tolist() == (synth_root / "classes.txt").read_text().split()
    assert (entry.kind, entry.videos, entry.classes, entry.views) == ("probabilities", 10, 10, 1)


def test_eval_of_the_checkpoint_writes_the_same_predictions(trained):
    run_dir, eval_dir, _ = trained
    trained_run, evaluated = (read_record(folder / "result.json") for folder in (run_dir, eval_dir))
    assert evaluated.predictions.video_list_sha256 == trained_run.predictions.video_list_sha256
    a, b = (read_predictions(folder / PREDICTIONS_FILE) for folder in (run_dir, eval_dir))
    np.testing.assert_array_equal(a.scores, b.scores)  # the CPU is deterministic


def test_the_record_states_what_decides_the_numbers(trained):
    record = read_record(trained[0] / "result.json")
    settings = record.reproducibility
    assert record.schema_version == 3
    assert settings.seed == 0 and settings.threads == torch.get_num_threads()
    assert settings.autocast == "float32" and settings.deterministic_algorithms is False
    assert settings.device_name and settings.cudnn_benchmark is None  # CUDA settings: not on the CPU
    assert settings.cpu_capability == torch.backends.cpu.get_cpu_capability()  # e.g. AVX2, AVX512


def scored(labels, classes=3, views=2):
    generator = torch.Generator().manual_seed(0)
    view_scores = torch.rand(len(labels), views, classes, generator=generator).softmax(dim=2)
    return VideoScores(view_scores.mean(dim=1), torch.tensor(labels), "probabilities", view_scores)


def test_skipped_videos_drop_out_of_the_ids(tmp_path):
    writer = PredictionsWriter(tmp_path, [("a", 0), ("b", 1), ("c", 2), ("d", 1)], skipped=lambda: {"b"},
                               class_names=["x", "y", "z"])
    writer(scored([0, 2, 1]))
    predictions = read_predictions(tmp_path / PREDICTIONS_FILE, writer.entry.sha256)
    assert predictions.video_ids.tolist() == ["a", "c", "d"] and predictions.views == 2
    assert writer.entry == entry_of(tmp_path)


def test_scores_that_do_not_pair_with_the_list_are_not_saved(tmp_path, caplog):
    writer = PredictionsWriter(tmp_path, [("a", 0), ("b", 1), ("c", 2)], skipped=set)
    writer(scored([0, 1, 2]))
    assert (tmp_path / PREDICTIONS_FILE).exists()
    writer(scored([0, 2]))  # a video dropped that the policy does not name
    assert writer.entry is None and not (tmp_path / PREDICTIONS_FILE).exists()
    assert "predictions not saved: 2 videos were scored but 3 listed videos" in caplog.text
    writer(scored([0, 2, 1]))
    assert writer.entry is None and "not the list's labels in order" in caplog.text


def test_a_run_resumed_after_its_last_epoch_names_the_file_its_last_epoch_wrote(tmp_path):
    PredictionsWriter(tmp_path, [("a", 0), ("b", 1)], skipped=set)(scored([0, 1]))
    resumed = PredictionsWriter(tmp_path, [("a", 0), ("b", 1)], skipped=set)
    assert resumed.entry is not None and resumed.entry.videos == 2
