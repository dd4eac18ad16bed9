"""End to end on a tiny synthmotion: training lowers the loss, records are complete,
finished experiments are skipped, and the report is built from the records."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny_experiment

from actionbench.cli import main
from actionbench.config import load_plans
from actionbench.core.model_input import to_model_input
from actionbench.data.loader import build_loaders
from actionbench.engine.schedule import build_scheduler
from actionbench.engine.train import build_optimizer, train_one_epoch
from actionbench.models import build_network

REQUIRED_KEYS = {"id", "name", "method", "backbone", "dataset", "frames", "input_size", "top1",
                 "top5", "gflops", "params_m", "latency_ms", "throughput", "device", "status",
                 "provenance"}


@pytest.fixture
def experiment_file(write_yaml, synth_root):
    spec = tiny_experiment(data__root=str(synth_root), train__batch_size=4, train__dropout=0.0)
    spec["matrix"] = {"model.method": ["tsn", "tsm"]}
    return write_yaml("smoke.yaml", spec)


def test_one_epoch_lowers_the_training_loss(experiment_file):
    (experiment,) = load_plans([experiment_file], ["model.method=tsm", "train.lr=0.01"])
    train_loader, _ = build_loaders(experiment)
    model = build_network(experiment)
    torch.manual_seed(1)
    videos, labels = next(iter(train_loader))
    inputs = to_model_input(videos, "cpu")

    def loss() -> float:
        with torch.no_grad():
            return torch.nn.functional.cross_entropy(model.train()(inputs), labels).item()

    before = loss()
    optimizer = build_optimizer(model, experiment)
    scheduler = build_scheduler(optimizer, experiment.spec.train, len(train_loader))
    metrics = train_one_epoch(model, train_loader, optimizer, scheduler, torch.device("cpu"),
                              experiment.spec.train, 0, lambda clips: to_model_input(clips, "cpu"))
    assert metrics["train_loss"] > 0 and len(train_loader) == 5
    assert loss() < before - 0.05


def test_run_writes_records_skips_finished_runs_and_reports(experiment_file, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["run", str(experiment_file), "--runs", str(runs), "--device", "cpu"]) == 0
    records = sorted(runs.glob("*/result.json"))
    assert len(records) == 2
    for path in records:
        record = json.loads(path.read_text())
        assert REQUIRED_KEYS <= record.keys()
        assert record["status"] == "finished" and record["epochs"] == 1
        assert 0 <= record["top1"] <= 100 and record["gflops"] > 0
        assert record["provenance"]["versions"]["torch"] == torch.__version__
        assert record["id"] == path.parent.name
        assert record["protocol"] == "train tile random_resized noflip | test even 1x1 edges 32/32 softmax"
        assert (record["videos_scored"], record["videos_dropped"]) == (10, 0)
        metrics = (path.parent / "metrics.jsonl").read_text().splitlines()
        assert len(metrics) == 1 and "train_loss" in json.loads(metrics[0])
        assert (path.parent / "checkpoint.pt").exists() and (path.parent / "config.yaml").exists()
    stamps = [path.stat().st_mtime_ns for path in records]

    assert main(["run", str(experiment_file), "--runs", str(runs), "--device", "cpu"]) == 0
    assert [path.stat().st_mtime_ns for path in records] == stamps  # skipped, not rerun
    assert main(["run", str(experiment_file), "--runs", str(runs), "--device", "cpu",
                 "--shard", "1/2", "--force"]) == 0
    changed = [a != path.stat().st_mtime_ns for a, path in zip(stamps, records)]
    assert sorted(changed) == [False, True]  # --force reran exactly the one shard's experiment

    assert main(["report", str(runs), "-o", str(tmp_path / "report")]) == 0
    readme = (tmp_path / "report" / "README.md").read_text()
    assert "| tsn" in readme and "| tsm" in readme
    assert (tmp_path / "report" / "synthmotion_accuracy_vs_gflops.png").stat().st_size > 1000


def test_eval_interval_evaluates_every_nth_and_the_last_epoch(experiment_file, tmp_path):
    runs = tmp_path / "runs"
    args = ["run", str(experiment_file), "--runs", str(runs), "--device", "cpu",
            "--set", "model.method=tsn", "--set", "train.epochs=3", "--set", "eval.interval=2"]
    assert main(args) == 0
    (run_dir,) = runs.glob("*/")
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [("top1" in line) for line in lines] == [False, True, True]
    assert json.loads((run_dir / "result.json").read_text())["top1"] == lines[-1]["top1"]


def test_cli_turns_user_errors_into_exit_code_2(experiment_file, capsys):
    assert main(["run", str(experiment_file), "--dry-run", "--set", "model.method=tsmm"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'tsm'" in err and "Traceback" not in err
    assert main(["run", str(experiment_file), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 experiments" in out and "tiny-tsn-" in out and "tiny-tsm-" in out


def test_profile_json_needs_no_data(write_yaml, capsys):
    path = write_yaml("p.yaml", tiny_experiment(data__root="/nonexistent"))
    assert main(["profile", str(path), "--json", "--no-speed"]) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert line["method"] == "tsm" and line["gflops"] > 0 and line["params_m"] > 11
