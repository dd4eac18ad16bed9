"""Reports from a small synthetic matrix written as run folders: two shards, a rerun whose newer
record wins, a failed record, an unfinished run folder, a second dataset with published numbers
and multi-view testing. The report is written once per module; tests read what it wrote."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from PIL import Image

from actionbench.cli import main
from actionbench.report import write_report
from actionbench.report.records import load_experiments

EPOCHS = 3


def record(id_, method, top1, gflops, *, params_m=11.2, family="2D", dataset="synthmotion", frames=4,
           clips=1, crops=1, finished="2026-01-01T00:00:00+00:00", status="finished", reason=None,
           paper=None, reconstructed=False):
    return {"id": id_, "name": f"exp-{id_}", "method": method, "family": family,
            "reconstructed": reconstructed, "backbone": "resnet18", "dataset": dataset, "frames": frames,
            "input_size": 32, "clips": clips, "crops": crops, "views": clips * crops, "top1": top1,
            "top5": None if top1 is None else 100.0,
            "gflops": gflops, "params_m": params_m, "latency_ms": 2.0 * gflops, "throughput": 100.0 / gflops,
            "throughput_batch": 8, "device": "cpu", "cost_device": "cpu (2 threads)", "status": status,
            "reason": reason, "epochs": EPOCHS, "paper": paper,
            "provenance": {"git_commit": "abc1234567890", "git_dirty": True, "host": "box",
                           "versions": {"torch": "2.x"}, "started": finished, "finished": finished}}


def metrics(epochs):
    return "".join(json.dumps({"epoch": epoch, "train_loss": 2.0 / epoch, "val_loss": 2.5 / epoch,
                               "train_top1": 30.0 * epoch, "top1": 25.0 * epoch}) + "\n"
                   for epoch in range(1, epochs + 1))


def write_run(shard, rec, epochs=EPOCHS):
    folder = shard / rec["id"]
    folder.mkdir(parents=True)
    config = {"name": rec["name"], "model": {"method": rec["method"], "backbone": "resnet18"},
              "data": {"dataset": rec["dataset"], "frames": rec["frames"]}, "train": {"epochs": 5},
              "eval": {"clips": rec["clips"], "crops": rec["crops"]}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / "metrics.jsonl").write_text(metrics(epochs))
    if rec["status"] != "unfinished":
        (folder / "result.json").write_text(json.dumps(rec))


TSN_PAPER = {"top1": 55.0, "gflops": 1.1, "params_m": 11.0, "views": "1x1", "source": "TSN paper, Table 1"}
TSM_PAPER = {"top1": 61.7, "gflops": 33.0, "params_m": 24.3, "views": "2x3", "source": "TSM paper, Table 2"}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    shard0, shard1 = root / "machine0", root / "machine1"
    for rec in [record("a", "tsm", 90.0, 2.0),  # replaced by the newer record of "a" in shard1
                record("b", "tsn", 50.0, 1.0, paper=TSN_PAPER),
                record("e", "i3d", 80.0, 8.0, params_m=33.0, family="3D")]:
        write_run(shard0, rec)
    for rec in [record("a", "tsm", 98.2, 2.0, finished="2026-02-01T00:00:00+00:00"),
                record("c", "tam", None, 3.0, status="failed", reason="loss is NaN at epoch 2"),
                record("d", "esti", 99.0, 4.0, reconstructed=True),
                record("f", "tsm", 97.0, 4.0, frames=8),
                record("g", "stm", None, 2.0, status="unfinished"),  # config.yaml, no result.json
                record("h", "tsm", 60.0, 33.0, params_m=24.0, dataset="ssv2", clips=2, crops=3,
                       paper=TSM_PAPER)]:
        write_run(shard1, rec, epochs=1 if rec["status"] == "unfinished" else EPOCHS)
    return [shard0, shard1]


@pytest.fixture(scope="module")
def report(shards, tmp_path_factory):
    return write_report(shards, tmp_path_factory.mktemp("report"))


def table_rows(text, dataset):
    """The cells of the results table under the `## dataset` heading."""
    section = text.split(f"## {dataset}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_newest_finished_record_per_experiment_wins_and_the_rest_is_kept(shards):
    frame = load_experiments(shards).set_index("id")
    assert sorted(frame.index) == list("abcdefgh")
    assert frame.loc["a", "top1"] == 98.2  # the newer shard's record
    assert frame.attrs == {"read": 9, "superseded": 1, "damaged": []}
    assert frame.loc["c", "status"] == "failed"
    assert frame.loc["g", "status"] == "unfinished"
    assert frame.loc["g", "reason"] == "no result.json yet; 1 of 5 epochs in metrics.jsonl"
    assert frame.loc["h", "views_label"] == "2×3" and frame.loc["h", "gflops_video"] == 198.0


def test_a_newer_failure_does_not_hide_a_finished_record(tmp_path):
    write_run(tmp_path / "old", record("a", "tsm", 90.0, 2.0))
    write_run(tmp_path / "new", record("a", "tsm", None, 2.0, status="failed", reason="NaN",
                                       finished="2026-03-01T00:00:00+00:00"))
    frame = load_experiments([tmp_path / "old", tmp_path / "new"])
    assert list(frame["status"]) == ["finished"] and list(frame["top1"]) == [90.0]


def test_tables_sorted_by_cost_with_published_numbers_and_deltas(report):
    text = report.readme.read_text()
    rows = table_rows(text, "synthmotion")
    # cost 1, 2, 4, 4 (ties: better top-1 first), 8; the failed and the unfinished are not rows
    assert [(row[0], row[2], row[4]) for row in rows] == [
        ("tsn", "4", "50.0"), ("tsm", "4", "98.2"), ("esti†", "4", "99.0"), ("tsm", "8", "97.0"),
        ("i3d", "4", "80.0")]
    tsn = rows[0]
    assert tsn[-4:] == ["55.0 (-5.0)", "1.10 (-9.1 %)", "11.00 (+1.8 %)", "[1]"]
    assert rows[2][-4:] == ["—", "—", "—", ""]  # no paper: block
    assert "[1] TSN paper, Table 1" in text and "† reconstructed from the description" in text
    (ssv2,) = table_rows(text, "ssv2")
    assert ssv2[3] == "2×3" and ssv2[-4:] == ["61.7 (-1.7)", "33.00 (+0.0 %)", "24.30 (-1.2 %)", "[1]"]


def test_summary_failed_unfinished_and_provenance(report):
    text = report.readme.read_text()
    assert ("- **synthmotion**: best top-1 99.0 % (esti† resnet18, 4 frames, 1 view, 4.00 GFLOPs per video); "
            "cheapest within 1 point: 98.2 % (tsm resnet18, 4 frames, 1 view, 2.00 GFLOPs per video, "
            "2.0× fewer GFLOPs).") in text
    assert ("- **ssv2**: best top-1 60.0 % (tsm resnet18, 4 frames, 2×3 views, 198.00 GFLOPs per video); "
            "no model within 1 point of it is cheaper.") in text
    assert "- `c` (tam resnet18, 4 frames): failed: loss is NaN at epoch 2" in text
    assert "- `g` (stm resnet18, 4 frames): unfinished: no result.json yet; 1 of 5 epochs" in text
    provenance = text.split("## Provenance", 1)[1]
    assert "Commits: abc1234567 (with local changes)" in provenance
    assert "Versions: torch 2.x" in provenance
    assert "8 experiments from 9 records and run folders (1 replaced by a newer record" in provenance


def test_csv_has_one_row_per_experiment_with_every_field(report):
    csv = pd.read_csv(report.csv).set_index("id")
    assert sorted(csv.index) == list("abcdefgh")
    assert csv.loc["a", "top1"] == 98.2 and csv.loc["c", "status"] == "failed"
    assert csv.loc["b", "paper.top1"] == 55.0 and csv.loc["b", "delta_top1"] == pytest.approx(-5.0)
    assert csv.loc["h", "delta_gflops_pct"] == pytest.approx(0.0)
    assert csv.loc["b", "provenance.git_commit"] == "abc1234567890"
    assert csv["frames"].dtype == "int64"  # counts stay integers despite the unfinished row's gaps
    assert "label" not in csv  # presentation only


def assert_png(path, points, expected):
    with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG"
    assert points == expected


def test_figures_are_pngs_with_one_point_per_experiment(report):
    synth = {captioned.figure.path.name: captioned.figure
             for captioned in report.figures["synthmotion"].figures}
    assert sorted(synth) == ["synthmotion_accuracy_vs_frames.png", "synthmotion_accuracy_vs_gflops.png",
                             "synthmotion_accuracy_vs_throughput.png", "synthmotion_published_vs_ours.png"]
    for name, figure in synth.items():
        # five finished experiments; published vs ours: tsn's three quantities, two markers each
        assert_png(figure.path, figure.points, 6 if "published" in name else 5)
    ssv2 = report.figures["ssv2"]
    assert [captioned.figure.path.name for captioned in ssv2.figures] == [
        "ssv2_accuracy_vs_gflops.png", "ssv2_accuracy_vs_throughput.png", "ssv2_published_vs_ours.png"]
    assert ssv2.skipped == ["no accuracy-vs-frames figure: every experiment uses 4 frames"]
    text = report.readme.read_text()
    assert all(f"![{captioned.caption}]({captioned.figure.path.name})" in text
               for figures in report.figures.values() for captioned in figures.figures)


def test_training_curves_for_every_experiment_that_logged_an_epoch(report):
    assert sorted(report.curves) == list("abcdefgh")
    for id_, figure in report.curves.items():
        # four series (training and validation loss and top-1), one marker per logged epoch
        assert_png(figure.path, figure.points, 4 * (1 if id_ == "g" else EPOCHS))
    assert "](curves/a.png)" in report.readme.read_text()


def test_latex_tables_from_the_command_line(tmp_path):
    write_run(tmp_path / "runs", record("b", "tsn", 50.0, 1.0, paper=TSN_PAPER))
    write_run(tmp_path / "runs", record("d", "esti_x", 99.0, 4.0, reconstructed=True))
    assert main(["report", str(tmp_path / "runs"), "-o", str(tmp_path / "out"), "--format", "latex"]) == 0
    tex = (tmp_path / "out" / "tables.tex").read_text()
    assert r"\begin{tabular}" in tex and r"\toprule" in tex and r"top-1 (\%)" in tex
    assert r"paper top-1 ($\Delta$)" in tex and r"esti\_x$^\dagger$" in tex
    assert r"1$\times$1" in tex and "[1] TSN paper, Table 1." in tex
    assert "```latex\n" + tex.strip() in (tmp_path / "out" / "README.md").read_text()


def test_label_placement_keeps_labels_of_coincident_points_apart():
    from matplotlib.text import Text

    from actionbench.report.figures.style import label_points, new_figure

    fig, (ax,) = new_figure(3.0)
    ax.scatter([1.0, 1.0, 1.0, 2.0], [5.0, 5.0, 5.0, 5.0])
    ax.set_xlim(0, 3)
    ax.set_ylim(0, 10)
    label_points(ax, [1.0, 1.0, 1.0, 2.0], [5.0] * 4, ["tsm", "tam", "stm", "i3d"], [4.0] * 4)
    renderer = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(text, renderer) for text in ax.texts]
    assert len(boxes) == 4
    assert not any(first.overlaps(second) for i, first in enumerate(boxes) for second in boxes[i + 1:])


def test_report_errors_name_the_problem(tmp_path, capsys):
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    assert "no result records" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nowhere"), "-o", str(tmp_path / "out")]) == 2
    assert f"run folder not found: {tmp_path / 'nowhere'}" in capsys.readouterr().err
