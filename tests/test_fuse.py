"""`benchmark.py fuse`: the fused record scores what averaging the saved scores by hand gives,
names its members, lands in a folder of its own and shows in the report; runs that are not
paired video by video, or lack predictions, are refused in one line (exit 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import save_with_predictions, synthetic_predictions

from actionbench.cli import main
from actionbench.core.metrics import classification_metrics
from actionbench.report import write_report
from actionbench.store.predictions import Predictions, read_predictions
from actionbench.store.record import read_record


def member(runs, id_, predictions, method="tsm", dataset="synthmotion", **fields):
    record = {"id": id_, "name": id_, "method": method, "family": "2D", "backbone": "resnet18",
              "dataset": dataset, "frames": 8, "input_size": 224, "clips": 1, "crops": 1, "views": 1,
              "gflops": 33.0, "params_m": 24.3, "device": "cpu", **fields}
    save_with_predictions(runs / id_, record, predictions)
    return predictions


def noisy(like, seed):
    """Predictions on `like`'s videos with random softmax scores leaning to the label."""
    rng = np.random.default_rng(seed)
    logits = 2 * rng.normal(size=like.scores.shape)
    logits[np.arange(like.num_videos), like.labels] += 1.5
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return Predictions(probabilities, like.labels, like.video_ids, "probabilities",
                       class_names=like.class_names)


@pytest.fixture
def two_streams(tmp_path):
    runs = tmp_path / "runs"
    rgb = member(runs, "rgb", synthetic_predictions(0.7, 1))
    flow = member(runs, "flow", noisy(rgb, 2), method="tsn", gflops=30.0, params_m=24.0)
    return runs, rgb, flow


def fused_record(runs, name):
    (folder,) = runs.glob(f"{name}-*")
    return folder, read_record(folder / "result.json")


def test_fused_top1_is_that_of_the_hand_averaged_scores(two_streams):
    runs, rgb, flow = two_streams
    args = ["fuse", "rgb", "flow", "-o", "two-stream", "--runs", str(runs), "--weights", "1,1.5",
            "--space", "probabilities"]
    assert main(args) == 0
    folder, record = fused_record(runs, "two-stream")
    by_hand = (1 * rgb.scores.astype(np.float64) + 1.5 * flow.scores) / 2.5
    expected = classification_metrics(torch.from_numpy(by_hand), torch.from_numpy(rgb.labels))
    assert record.top1 == pytest.approx(expected["top1"]) and record.top5 == pytest.approx(expected["top5"])
    assert record.top1 not in (rgb.metrics()["top1"], flow.metrics()["top1"])
    fused = read_predictions(folder / record.predictions.file, record.predictions.sha256)
    np.testing.assert_allclose(fused.scores, by_hand, rtol=1e-6)
    assert [(m.id, round(m.weight, 6)) for m in record.fused_from] == [("rgb", 0.4), ("flow", 0.6)]
    rgb_record = read_record(runs / "rgb" / "result.json")
    assert record.fused_from[0].predictions_sha256 == rgb_record.predictions.sha256
    assert (record.family, record.method, record.fusion.space, record.views) == ("fusion", "tsm+tsn",
                                                                                  "probabilities", 2)
    assert record.gflops * record.views == pytest.approx(63.0) and record.params_m == pytest.approx(48.3)

    assert main(args) == 0 and len(list(runs.glob("two-stream-*"))) == 1  # the same fusion, the same folder
    assert main(args[:-2]) == 0 and len(list(runs.glob("two-stream-*"))) == 2  # logits: another one


def test_fused_rows_appear_in_the_report(two_streams, tmp_path):
    runs, _, _ = two_streams
    assert main(["fuse", str(runs / "rgb"), str(runs / "flow"), "-o", "ensemble", "--runs", str(runs)]) == 0
    report = write_report([runs], tmp_path / "report")
    text = report.readme.read_text()
    assert "| tsm+tsn " in text and "2×1" in text
    assert "tsm+tsn" in text.split("### Is A better than B?", 1)[1]


def test_runs_on_different_video_lists_are_refused(two_streams, capsys):
    runs, _, _ = two_streams
    other = [f"video{index:03d}" for index in range(199)] + ["elsewhere"]
    member(runs, "other", synthetic_predictions(0.7, 3, video_ids=other))
    assert main(["fuse", "rgb", "other", "-o", "x", "--runs", str(runs)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: cannot fuse runs 'rgb' and 'other': different video lists: video ids differ at "
                   "1 of 200 positions, first at position 199 (video199 9 vs elsewhere 9)")
    assert not list(runs.glob("x-*"))


def test_runs_with_different_class_counts_are_refused(two_streams, capsys):
    runs, _, _ = two_streams
    member(runs, "wide", synthetic_predictions(0.7, 3, classes=20))
    assert main(["fuse", "rgb", "wide", "-o", "x", "--runs", str(runs)]) == 2
    assert capsys.readouterr().err.strip() == \
        "error: cannot fuse runs 'rgb' and 'wide': different class counts (10 vs 20)"


@pytest.mark.parametrize("make, message", [
    (lambda runs: member(runs, "k400", synthetic_predictions(0.7, 1), dataset="kinetics400"),
     "cannot fuse runs of different datasets: 'rgb' (synthmotion), 'k400' (kinetics400)"),
    (lambda runs: (runs / "old").mkdir() or (runs / "old" / "result.json").write_text(
        '{"id": "old", "status": "finished", "top1": 50.0}'),
     "run 'old' has no saved predictions"),
    (lambda runs: None, "no run folder with a result.json at 'missing'"),
])
def test_other_bad_requests_are_one_line(two_streams, capsys, make, message):
    runs, _, _ = two_streams
    make(runs)
    other = {"cannot fuse runs of": "k400", "run 'old'": "old"}
    name = next((run for key, run in other.items() if key in message), "missing")
    assert main(["fuse", "rgb", name, "-o", "x", "--runs", str(runs)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_names_and_weights_are_refused(two_streams, capsys):
    runs, _, _ = two_streams
    assert main(["fuse", "rgb", "flow", "-o", "../x", "--runs", str(runs)]) == 2
    assert "fuse -o '../x': expected a name" in capsys.readouterr().err
    assert main(["fuse", "rgb", "flow", "-o", "x", "--runs", str(runs), "--weights", "1"]) == 2
    assert "fusion weights: 1 given for 2 runs (rgb, flow)" in capsys.readouterr().err
    assert main(["fuse", "rgb", "rgb", "-o", "x", "--runs", str(runs)]) == 2
    assert "run rgb given more than once" in capsys.readouterr().err


def test_clips_evaluated_in_separate_runs_count_their_network_once(tmp_path):
    runs = tmp_path / "runs"
    weights = {"path": "esti.pth", "sha256": "cd" * 32, "key_convention": "actionbench"}
    first = member(runs, "clip1", synthetic_predictions(0.6, 1), weights=weights)
    member(runs, "clip2", noisy(first, 2), weights=weights)
    assert main(["fuse", "clip1", "clip2", "-o", "clips", "--runs", str(runs), "--space", "probabilities"]) \
        == 0
    _, record = fused_record(runs, "clips")
    assert (record.clips, record.crops, record.views) == (2, 1, 2)
    assert record.params_m == pytest.approx(24.3) and record.gflops == pytest.approx(33.0)
