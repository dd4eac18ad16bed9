"""The report reads every run folder it is given: one damaged or foreign folder among hundreds
is listed apart, naming the file and what is wrong with it, and the report goes on; nothing a
record says makes the report write outside its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from actionbench.cli import main
from actionbench.report import curve_rows
from actionbench.report.records import load_experiments
from actionbench.store.record import RunRecord


def good_record(run_id: str = "tiny-0001", **fields) -> RunRecord:
    return RunRecord(**{"id": run_id, "name": "tiny", "status": "finished", "method": "tsm", "family": "2D",
                        "backbone": "resnet18", "dataset": "synthmotion", "frames": 4, "clips": 1, "crops": 1,
                        "views": 1, "top1": 55.0, "top5": 90.0, "gflops": 0.15, "params_m": 11.2, "epochs": 1,
                        **fields})


def folder_with(runs: Path, name: str, files: dict[str, bytes | None]) -> Path:
    folder = runs / name
    folder.mkdir(parents=True)
    for file, content in files.items():
        (folder / file).mkdir() if content is None else (folder / file).write_bytes(content)
    return folder


GOOD_CONFIG = b"name: x\nmodel: {method: tsm}\ndata: {dataset: synthmotion}\ntrain: {epochs: 2}\n"
DAMAGED = {  # folder: (its files, the problem the report names)
    "binary-result": ({"result.json": b"\xff\xfe\x00\x81"}, "result.json: cannot be read as text"),
    "list-result": ({"result.json": b"[1, 2]"}, "result.json: expected a JSON object, got a list"),
    "empty-result": ({"result.json": b"{}"}, "result.json: field 'id': Field required"),
    "folder-result": ({"result.json": None}, "result.json: cannot be read as text (IsADirectoryError)"),
    "truncated-result": ({"result.json": good_record("cut-1").to_json().encode()[:200],
                          "config.yaml": GOOD_CONFIG}, "result.json: not valid JSON"),
    "binary-config": ({"config.yaml": b"\xff\xfe\x00\x81"}, "config.yaml: not a readable run config"),
    "list-config": ({"config.yaml": b"- a\n- b\n"}, "config.yaml: expected a mapping, got a list"),
    "escaping-dataset": ({"result.json": good_record("esc-1").to_json().replace(
        '"synthmotion"', '"../../x"').encode()}, "result.json: field 'dataset': String should match pattern"),
    "text-top1": ({"result.json": good_record("na-1").to_json().replace('"top1": 55.0', '"top1": "n/a"')
                   .encode()}, "result.json: field 'top1': Input should be a valid number"),
    "unrelated": ({"result.json": b'{"accuracy": 0.5, "model": "x"}'},
                  "result.json: field 'id': Field required"),
}


def test_damaged_and_foreign_run_folders_are_listed_apart_and_the_report_goes_on(tmp_path, capsys):
    runs = tmp_path / "runs"
    metrics = b'{"epoch": 1, "train_loss": 2.0}\n\xff\xfe\n42\n'  # a binary line, a bare number
    good = folder_with(runs, "tiny-0001", {"result.json": good_record().to_json().encode(),
                                           "metrics.jsonl": metrics})
    for name, (files, _) in DAMAGED.items():
        folder_with(runs, name, files)

    assert main(["report", str(runs), "-o", str(tmp_path / "out")]) == 0
    assert "Traceback" not in capsys.readouterr().err
    readme = (tmp_path / "out" / "README.md").read_text()
    section = readme[readme.index("## Damaged run folders"):]
    for name, (_, problem) in DAMAGED.items():
        assert f"`{runs / name}/{problem.split(':')[0]}`: {problem.split(': ', 1)[1]}" in section, name
    assert "| tsm " in readme and (tmp_path / "out" / "curves" / f"{good.name}.png").exists()
    written = {path.relative_to(tmp_path).parts[0] for path in tmp_path.rglob("*") if path.is_file()}
    assert written == {"runs", "out"}  # nothing outside the report folder (and the store)


def test_frame_attrs_name_each_damaged_file(tmp_path):
    runs = tmp_path / "runs"
    folder_with(runs, "tiny-0001", {"result.json": good_record().to_json().encode()})
    folder_with(runs, "list-config", {"config.yaml": b"- a\n"})
    frame = load_experiments([runs])
    assert list(frame["id"]) == ["tiny-0001"]
    assert frame.attrs["damaged"] == [(str(runs / "list-config" / "config.yaml"),
                                       "expected a mapping, got a list")]


@pytest.mark.parametrize("count, drawn", [(5, 5), (12, 8)])
def test_curves_are_drawn_for_the_failed_and_best_runs_first_up_to_the_limit(tmp_path, count, drawn):
    runs = tmp_path / "runs"
    for index in range(count):
        record = good_record(f"r-{index:03d}", status="failed" if index == 7 else "finished",
                             method=["tsm", "tsn", "tam"][index % 3])
        record.top1 = float(index)
        folder_with(runs, record.id, {"result.json": record.to_json().encode()})
    frame = load_experiments([runs])
    chosen = curve_rows(frame, limit=8)
    assert len(chosen) == drawn
    if count > 8:
        ids = set(chosen["id"])
        assert "r-007" in ids  # the failed one
        assert {"r-011", "r-010", "r-009"} <= ids  # the best finished run of each method
        assert list(chosen.index) == sorted(chosen.index)  # in table order

