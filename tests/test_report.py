from __future__ import annotations

import json

from actionbench.cli import main
from actionbench.report import write_report


def record(id_, method, top1, gflops, params_m, finished="2026-01-01T00:00:00", status="finished",
           paper=None, reconstructed=False):
    return {"id": id_, "name": id_, "method": method, "family": "2D", "backbone": "resnet18",
            "reconstructed": reconstructed,
            "dataset": "synthmotion", "frames": 8, "views": 1, "top1": top1, "top5": 100.0,
            "gflops": gflops, "params_m": params_m, "latency_ms": 3.0, "throughput": 100.0,
            "device": "cpu", "status": status, "reason": None if status == "finished" else "NaN",
            "paper": paper, "provenance": {"finished": finished, "git_commit": "abc",
                                           "versions": {"torch": "2.x"}}}


def write_runs(root, records):
    for rec in records:
        folder = root / rec["id"]
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(rec))


def test_report_table_keeps_newest_record_and_sorts_by_cost(tmp_path):
    paper = {"top1": 55.0, "source": "x"}
    write_runs(tmp_path / "shard0", [record("a", "tsm", 90.0, 2.0, 11.2),
                                     record("b", "tsn", 50.0, 1.0, 11.2, paper=paper)])
    newer = "2026-02-01T00:00:00"
    write_runs(tmp_path / "shard1", [record("a", "tsm", 95.0, 2.0, 11.2, finished=newer),
                                     record("c", "tam", None, 3.0, 11.3, status="failed"),
                                     record("d", "esti", 99.0, 4.0, 11.4, reconstructed=True)])
    readme = write_report([tmp_path / "shard0", tmp_path / "shard1"], tmp_path / "report")
    text = readme.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert [row.split("|")[1].strip() for row in rows] == ["tsn", "tsm", "esti†"]  # by cost
    assert "† reconstructed from the description" in text
    assert "95.00" in text and "90.00" not in text  # the newest record of id 'a' wins
    assert "-5.00" in text  # delta to the paper's 55.0
    assert "- c: NaN" in text  # the failed run is listed apart
    png = (tmp_path / "report" / "accuracy_vs_gflops.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_report_without_records_is_a_user_error(tmp_path, capsys):
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    assert "no result records" in capsys.readouterr().err
