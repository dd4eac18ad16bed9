"""bench/gpu.sh, the one prepared run for a lent GPU (issue 17), checked where no GPU is: with
--cpu it runs the same six steps at their smallest sizes. The whole run takes minutes on the
2-core machines (marked slow; CI runs it too); the budget, argument and summary checks take
seconds."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from actionbench.plan.registry import METHODS

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "gpu.sh"


def gpu_sh(out: Path, *args: str, timeout: int) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "OUT"}
    return subprocess.run(["bash", str(SCRIPT), "--cpu", "--out", str(out), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def load_summary_module():
    spec = importlib.util.spec_from_file_location("gpu_summary", REPO / "bench" / "gpu" / "summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """One --cpu run with room for every step, even on a busy machine."""
    out = tmp_path_factory.mktemp("gpu-check")
    done = gpu_sh(out, "--budget", "900", timeout=1000)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    with tarfile.open(out / "results.tar.gz") as bundle:
        members = {member.name.removeprefix("./"): member for member in bundle.getmembers()
                   if member.isfile()}
        texts = {name: bundle.extractfile(member).read().decode() for name, member in members.items()
                 if not name.endswith(".png")}
    return done.stdout, out, members, texts


@pytest.mark.slow
def test_every_step_runs_and_prints_its_elapsed_time(full_run):
    stdout, *_ = full_run
    for number in range(1, 7):
        assert re.search(rf"^== step {number}/6: ", stdout, re.MULTILINE), f"no header for step {number}"
    for number in range(1, 6):
        assert re.search(rf"^-- step {number}: done in \d+ s", stdout, re.MULTILINE), number
    assert re.search(r"^-- step 6: done in \d+ s; total \d+ s of 900 s$", stdout, re.MULTILINE)
    assert "skipped: the compiled runs" in stdout  # no torch.compile on the CPU, and it says so


@pytest.mark.slow
def test_the_bundle_is_few_files_laid_out_like_the_repository(full_run):
    _, out, members, texts = full_run
    assert sorted(path.name for path in out.iterdir()) == ["log.txt", "results.tar.gz", "speed_table.md",
                                                            "summary.txt"]
    for name in ("environment", "cuda_tests", "train_throughput", "e2e_throughput", "data_throughput",
                 "smoke", "smoke_report", "speed_table", "summary", "commands"):
        assert f"bench/results/cpucheck_{name}.txt" in members, name
    assert "reports/cpucheck_smoke/README.md" in members
    assert any(name.startswith("reports/cpucheck_smoke/curves/") for name in members)
    assert not any(name.endswith(".pt") for name in members)  # records, not checkpoints
    records = [json.loads(text) for name, text in texts.items()
               if name.startswith("runs/cpucheck_smoke/") and name.endswith("/result.json")]
    assert {record["method"] for record in records} == set(METHODS)  # every method in the smoke
    assert {record["status"] for record in records} == {"finished"}


@pytest.mark.slow
def test_the_speed_table_has_every_method_at_its_published_setting(full_run):
    _, _, _, texts = full_run
    rows = [json.loads(line) for line in texts["reports/cpucheck_speed/speed.jsonl"].splitlines()]
    assert {row["method"] for row in rows} == set(METHODS)
    assert not [row for row in rows if "error" in row]
    assert all(row["latency_ms"] > 0 and row["throughput"] > 0 for row in rows)
    frames = {row["method"]: row["frames"] for row in rows}
    assert frames["tsm"] == 8 and frames["s3d"] == 16 and frames["r3d"] == 16
    table = texts["reports/cpucheck_speed/README.md"]
    assert "device: CPU" in table and table.count("\n| ") == len(rows) + 1  # header row + one per method


@pytest.mark.slow
def test_the_summary_puts_each_figure_beside_its_target(full_run):
    _, out, _, texts = full_run
    summary = (out / "summary.txt").read_text()
    assert summary == texts["bench/results/cpucheck_summary.txt"]
    assert re.search(r"cpucheck_train_throughput: b/a = [\d.]+ \(target >= 3 .*\) -> (met|MISSED)", summary)
    assert re.search(r"cpucheck_data_throughput: ours / reference, 0 workers: [\d.]+x .* -> (met|MISSED)",
                     summary)
    assert re.search(r"cpucheck_e2e_throughput: JPEG loader / synthetic: [\d.]+ .* -> (met|MISSED)", summary)
    assert re.search(r"CUDA-only tests: \d+ skipped, \d+ deselected", summary)  # found, but no GPU here
    assert len(re.findall(r"^  \w+ +top-1 ", summary, re.MULTILINE)) == len(METHODS)
    assert f"{len(METHODS)} methods measured, 0 failed" in summary
    assert "$ python3 bench/speed_table.py" in summary  # the commands that made it


def test_a_budget_too_small_for_the_steps_skips_them_and_still_bundles(tmp_path):
    done = gpu_sh(tmp_path, "--budget", "12", timeout=300)
    assert done.returncode == 0, done.stdout[-4000:]
    for number, title in ((2, "CUDA-only tests"), (3, "throughput benchmarks"), (4, "smoke matrix"),
                          (5, "speed table")):
        assert re.search(rf"^skipped: step {number} \({title}\): needs at least \d+ s, -?\d+ s left",
                         done.stdout, re.MULTILINE)
    summary = (tmp_path / "summary.txt").read_text()
    assert len(re.findall(r"^  step [2-5]: .* skipped \(0 s\)", summary, re.MULTILINE)) == 4
    with tarfile.open(tmp_path / "results.tar.gz") as bundle:
        assert "./bench/results/cpucheck_environment.txt" in bundle.getnames()


def test_the_selected_steps_share_the_whole_budget(tmp_path):
    done = gpu_sh(tmp_path, "--budget", "20", "--only", "5", timeout=300)
    assert done.returncode == 0, done.stdout[-4000:]
    assert "skipped: step 2" not in done.stdout and "step 3/6" not in done.stdout
    assert re.search(r"^== step 5/6: speed table", done.stdout, re.MULTILINE)


@pytest.mark.parametrize("args", [["--budget", "five"], ["--only", "1,6"], ["--frobnicate"]])
def test_bad_arguments_exit_with_status_2_and_say_why(tmp_path, args):
    done = gpu_sh(tmp_path, *args, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("bench/gpu.sh: ")


def test_the_summary_compares_each_stated_target(tmp_path):
    summary = load_summary_module()
    (tmp_path / "gpu_train_throughput.txt").write_text(
        "b/a = 3.10 (target >= 3 on an H100/H200)\nb/c = 0.75 (target >= 0.8)\n")
    (tmp_path / "gpu_data_throughput.txt").write_text(
        "ours / reference, 1 workers: 1.96x (target >= 2x per worker)\n")
    lines = summary.target_lines(tmp_path)
    assert [line.rsplit("-> ", 1)[1] for line in lines] == ["MISSED", "met", "MISSED"]
    assert lines[1].startswith("  gpu_train_throughput: b/a = 3.10")


def test_the_smoke_verdicts_follow_the_smoke_run_criteria():
    summary = load_summary_module()
    assert summary.smoke_verdict("tsn", 52.5).startswith("at chance")
    assert summary.smoke_verdict("tsn", 90.0).startswith("ABOVE CHANCE")
    assert summary.smoke_verdict("tsm", 85.0).startswith("passes")
    assert summary.smoke_verdict("esti", 53.8).startswith("BELOW")
    assert summary.smoke_verdict("r3d", None) == "no accuracy"
