"""Reports from a small synthetic matrix written as run folders: two shards, a rerun whose newer
record wins, a failed record, an unfinished run folder, a second dataset with published numbers
and multi-view testing. The report is written once per module; tests read what it wrote."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from conftest import save_with_predictions, synthetic_predictions
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
    """The cells of the results table under the `## dataset` heading (its first table)."""
    section = text.split(f"## {dataset}\n", 1)[1].split("\n## ", 1)[0]
    table = section.strip().split("\n\n", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("|")][2:]
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
    assert ssv2.skipped == ["no accuracy-vs-frames figure: no method appears at several frame counts"]
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


def test_frames_figure_only_when_a_method_has_several_frame_counts(tmp_path):
    # the smoke matrix's case: S3D at 16 frames, everything else at 4
    write_run(tmp_path / "runs", record("a", "tsm", 90.0, 2.0))
    write_run(tmp_path / "runs", record("b", "s3d", 60.0, 3.0, frames=16, family="3D"))
    written = write_report([tmp_path / "runs"], tmp_path / "out")
    assert written.figures["synthmotion"].skipped[0] == \
        "no accuracy-vs-frames figure: no method appears at several frame counts"
    assert not (tmp_path / "out" / "synthmotion_accuracy_vs_frames.png").exists()


# ------------------------------------------------- a synthetic matrix with saved predictions

VIDEOS, CLASSES = 200, 10
NAMES = [f"class{label}" for label in range(CLASSES)]


def write_predicted_run(root, id_, method, accuracy, seed, *, train_seed=0, weights=None, suffix=""):
    """A finished run folder whose record agrees with its predictions file."""
    predictions = synthetic_predictions(accuracy, seed, VIDEOS, CLASSES)
    rec = record(id_, method, None, 2.0 if method == "tsm" else 1.0 + len(method) / 10)
    rec.update(name=f"m-{method}-seed{train_seed}{suffix}", weights=weights)
    rec["provenance"]["seed"] = train_seed
    rec["reproducibility"] = {"seed": train_seed, "threads": 2, "autocast": "float32",
                              "deterministic_algorithms": False, "device_name": "AMD EPYC",
                              "cpu_capability": "AVX512"}
    write_run(root, rec)
    save_with_predictions(root / id_, rec, predictions)
    config = {"name": rec["name"], "model": {"method": method, "backbone": "resnet18"},
              "data": {"dataset": "synthmotion", "frames": 4, "workers": train_seed},  # not in the id
              "train": {"epochs": 5, "seed": train_seed}, "eval": {"clips": 1, "crops": 1}}
    (root / id_ / "config.yaml").write_text(yaml.safe_dump(config))
    return predictions


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix")
    runs = root / "runs"
    predictions = {
        "tsm0": write_predicted_run(runs, "tsm0", "tsm", 0.95, 1, train_seed=0),
        "tsm1": write_predicted_run(runs, "tsm1", "tsm", 0.93, 2, train_seed=1),
        "tsm2": write_predicted_run(runs, "tsm2", "tsm", 0.96, 3, train_seed=2),
        "tam": write_predicted_run(runs, "tam", "tam", 0.90, 4),
        "tsn": write_predicted_run(runs, "tsn", "tsn", 0.50, 5),
        # eval of a checkpoint of tsm seed 0: the same config but for the name, yet not a seed
        "tsm0-w": write_predicted_run(runs, "tsm0-w", "tsm", 0.94, 6, suffix="-wabababab", weights={
            "path": "ckpt.pt", "sha256": "ab" * 32, "key_convention": "actionbench"}),
    }
    return write_report([runs], root / "report"), predictions


def test_report_over_a_matrix_shows_intervals_seed_rows_and_the_pairwise_table(matrix):
    from actionbench.report.pairwise import p_value
    from actionbench.report.statistics import accuracy_intervals, compare, holm, summarise_seeds

    report, predictions = matrix
    text = report.readme.read_text()
    assert len(table_rows(text, "synthmotion")) == 4  # tsm's three seeds are one row; the eval run its own
    intervals = {run: accuracy_intervals(of_run) for run, of_run in predictions.items()}
    (tsn,) = [row for row in table_rows(text, "synthmotion") if row[0] == "tsn"]
    assert tsn[4] == f"{intervals['tsn']['top1'].estimate:.1f} ± " \
                                         f"{intervals['tsn']['top1'].half_width:.1f}"
    seeds = summarise_seeds([intervals[run]["top1"].estimate for run in ("tsm0", "tsm1", "tsm2")])
    width = sum(intervals[run]["top1"].half_width for run in ("tsm0", "tsm1", "tsm2")) / 3
    merged = [row for row in table_rows(text, "synthmotion") if row[7].startswith("3 ")]
    assert len(merged) == 1 and merged[0][0] == "tsm"
    assert merged[0][4] == f"{seeds.mean:.1f} ± {width:.1f}"
    assert merged[0][7] == f"3 (s.d. {seeds.std:.1f})"
    assert "A row with several seeds merges runs that differ only in `train.seed`" in text
    assert "± is half the width of the 95 % bootstrap interval" in text

    section = text.split("### Is A better than B?", 1)[1].split("###", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    assert len(lines) == 6  # 4 rows: every pair
    # the tsm rows read alike, so every row is named by its experiment name; the seed row by tsm0
    runs = {"m-tsm-seed0": "tsm0", "m-tsm-seed0-wabababab": "tsm0-w", "m-tam-seed0": "tam",
            "m-tsn-seed0": "tsn"}
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    p_values = [compare(a, predictions[runs[a]], b, predictions[runs[b]]).p_value for a, b, *_ in cells]
    assert [row[6] for row in cells] == [p_value(p) for p in holm(p_values)]
    tsm_tsn = compare("tsm", predictions["tsm0"], "tsn", predictions["tsn"])
    (row,) = [cells_ for cells_ in cells if cells_[:2] == ["m-tsm-seed0", "m-tsn-seed0"]]
    difference = tsm_tsn.differences["top1"]
    assert row[2] == f"{difference.estimate:+.1f} [{difference.low:+.1f}, {difference.high:+.1f}]"
    assert row[3:5] == [str(tsm_tsn.a_only), str(tsm_tsn.b_only)] and row[7] == "yes"
    assert "significant at the 5 % level (McNemar's exact test on 200 videos, Holm-adjusted)" in section
    assert f"m-tsm-seed0 > m-tsn-seed0 ({difference.estimate:+.1f} points)" in section
    assert "a seed row is compared through its lowest seed's run" in section


def test_the_matrix_csv_keeps_one_row_per_run_with_bounds_and_seed_groups(matrix):
    report, predictions = matrix
    csv = pd.read_csv(report.csv).set_index("id")
    assert sorted(csv.index) == ["tam", "tsm0", "tsm0-w", "tsm1", "tsm2", "tsn"]
    assert list(csv.loc[["tsm0", "tsm1", "tsm2"], "seed_group"]) == ["tsm0"] * 3
    assert csv.loc["tsm0-w", "seeds"] == 1 and csv.loc["tsm1", "seeds"] == 3
    assert (csv["top1_low"] <= csv["top1"]).all() and (csv["top1"] <= csv["top1_high"]).all()
    assert (csv["top1_high"] - csv["top1_low"]).between(2, 20).all()  # 200 videos: a few points


def test_per_class_section_and_confusion_figures(matrix):
    report, predictions = matrix
    text = report.readme.read_text()
    section = text.split("### Per class", 1)[1].split("##", 1)[0]
    (tsn,) = [line for line in section.splitlines() if line.startswith("| m-tsn-seed0 ")]
    assert "class0 → class1" in tsn or "class1 → class0" in tsn  # the pair partner
    per_class = pd.read_csv(report.classes["synthmotion"].csv)
    assert list(per_class["class"]) == NAMES and (per_class["videos"] == VIDEOS // CLASSES).all()
    right = predictions["tsn"].correct(1)
    expected = 100 * right[predictions["tsn"].labels == 3].mean()
    assert per_class.loc[3, "m-tsn-seed0"] == pytest.approx(expected, abs=0.01)
    for figure in report.classes["synthmotion"].confusions.values():
        assert_png(figure.path, 0, 0)
    assert "](confusion/tsn.png)" in text
    assert "[tsm resnet18, 4 frames, seed 1](curves/tsm1.png)" in text


def test_error_bars_do_not_count_as_points(matrix):
    report, _ = matrix
    gflops = report.figures["synthmotion"].figures[0]
    assert "bars: 95 % bootstrap interval over videos" in gflops.caption
    assert gflops.figure.points == 4


def test_provenance_states_the_numerics_of_the_records(matrix):
    provenance = matrix[0].readme.read_text().split("## Provenance", 1)[1]
    assert ("- Numerics: precision float32; threads 2; deterministic algorithms False; processors AMD EPYC; "
            "CPU kernels AVX512") in provenance


def test_rows_cite_their_protocol_spelled_out_under_the_table(tmp_path):
    tsn = "train f5 tsm tsn_multiscale flip min3 | test f8 even 1x1 tsm 224/256 logits"
    tsm = "train tsm tsn_multiscale flip min3 | test even 1x1 tsm 224/256 logits"
    for rec, protocol, tested in [(record("b", "tsn", 50.0, 1.0, frames=5), tsn, 8),
                                  (record("a", "tsm", 60.0, 2.0), tsm, 4),
                                  (record("f", "tsm", 70.0, 4.0), tsm, 4)]:
        write_run(tmp_path / "runs", rec | {"protocol": protocol, "eval_frames": tested})
    write_run(tmp_path / "runs", record("x", "tsm", 65.0, 3.0))  # a record from before protocols
    readme = write_report([tmp_path / "runs"], tmp_path / "out").readme.read_text()
    rows = table_rows(readme, "synthmotion")
    assert [(row[0], row[2], row[-1]) for row in rows] == [
        ("tsn", "5 → 8", "P1"), ("tsm", "4", "P2"), ("tsm", "4", ""), ("tsm", "4", "P2")]
    assert f"P1 `{tsn}`" in readme and f"P2 `{tsm}`" in readme
    assert main(["report", str(tmp_path / "runs"), "-o", str(tmp_path / "tex"), "--format", "latex"]) == 0
    tex = (tmp_path / "tex" / "tables.tex").read_text()
    assert r"P1 train f5 tsm tsn\_multiscale flip min3 | test f8 even 1x1 tsm 224/256 logits." in tex
