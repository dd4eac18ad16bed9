"""`run --launcher slurm` without a cluster: stand-ins for sbatch, srun, sinfo and sacct on PATH
record what submitit asks of them, so the sbatch script that a 2-node x 8-GPU experiment gets is
checked line by line, and bad input is refused before anything is submitted."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import tiny_experiment

from actionbench.cli import main
from actionbench.launch import ledger

JOB_ID = "4242"


def tool(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """A PATH whose sbatch copies the script it is given to `sbatch.calls` and answers as Slurm
    does; sinfo lists the partitions 'gpu' and 'debug'; sacct says the job is pending."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    calls = tmp_path / "sbatch.calls"
    tool(bin_folder, "sbatch", f'cat "$1" >> {calls}\necho "Submitted batch job {JOB_ID}"')
    tool(bin_folder, "srun", "exit 1")
    tool(bin_folder, "sinfo", "printf 'gpu\\ndebug\\n'")
    tool(bin_folder, "sacct", f"printf 'JobID|State|NodeList\\n{JOB_ID}|PENDING|None\\n'")
    monkeypatch.setenv("PATH", f"{bin_folder}{os.pathsep}{os.environ['PATH']}")
    return calls


def submit(write_yaml, tmp_path, *options, launcher: dict | None = None) -> int:
    spec = tiny_experiment(data__root=str(tmp_path / "data"))
    if launcher:
        spec["launcher"] = launcher
    path = write_yaml("exp.yaml", spec)
    return main(["run", str(path), "--runs", str(tmp_path / "runs"), "--launcher", "slurm", *options])


def test_a_two_node_eight_gpu_experiment_gets_one_task_per_gpu_and_our_warning_signal(
        cluster, write_yaml, tmp_path, capsys):
    assert submit(write_yaml, tmp_path, "--nodes", "2", "--gpus-per-node", "8", "--partition", "gpu",
                  "--cpus-per-gpu", "10", "--time", "2-00:00:00", "--sbatch-arg=--exclusive",
                  launcher={"account": "vision", "mem_per_gpu_gb": 64, "partition": "debug"}) == 0
    script = cluster.read_text()
    flags = sorted(line for line in script.splitlines() if line.startswith("#SBATCH"))
    folder = tmp_path.resolve() / "runs" / ledger.SUBMITIT_FOLDER / "%j"
    run_id = next(entry for entry in ledger.all_entries(tmp_path / "runs"))
    assert flags == sorted([
        "#SBATCH --account=vision", "#SBATCH --cpus-per-task=10", "#SBATCH --exclusive",
        f"#SBATCH --error={folder}/%j_0_log.err", "#SBATCH --gpus-per-node=8",
        f"#SBATCH --job-name={run_id}", "#SBATCH --mem-per-gpu=64G", "#SBATCH --nodes=2",
        "#SBATCH --ntasks-per-node=8", "#SBATCH --open-mode=append",
        f"#SBATCH --output={folder}/%j_0_log.out", "#SBATCH --partition=gpu", "#SBATCH --requeue",
        "#SBATCH --signal=USR1@120", "#SBATCH --time=2880", "#SBATCH --wckey=submitit",
    ])
    lines = script.splitlines()
    assert "export SUBMITIT_PREEMPT_SIGNAL=USR1" in lines
    command = lines[lines.index("export SUBMITIT_EXECUTOR=slurm") + 1]
    assert command.startswith(f"srun --unbuffered --output {folder}/%j_%t_log.out --error "
                              f"{folder}/%j_%t_log.err ")
    assert command.endswith(f"-u -m submitit.core._submit {folder}")
    assert (tmp_path / "runs" / ledger.SUBMITIT_FOLDER / JOB_ID / f"{JOB_ID}_submitted.pkl").is_file()
    entry = ledger.read_entry(tmp_path / "runs", run_id)
    assert (entry.launcher, entry.job_id, entry.processes) == ("slurm", JOB_ID, 16)
    assert f"{run_id}  {JOB_ID}         submitted" in capsys.readouterr().out

    assert main(["status", str(tmp_path / "runs")]) == 0  # sacct says PENDING
    out = capsys.readouterr().out
    assert f"{run_id}  queued   job {JOB_ID} (slurm, PENDING)" in out
    assert out.rstrip().endswith("1 experiments: 1 queued")


def nothing_submitted(tmp_path: Path, calls: Path | None = None) -> bool:
    runs = tmp_path / "runs"
    return not (runs / ledger.JOBS_FOLDER).exists() and not (runs / ledger.SUBMITIT_FOLDER).exists() \
        and not (calls and calls.exists())


def test_without_sbatch_on_path_nothing_is_submitted(write_yaml, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert submit(write_yaml, tmp_path) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("error: --launcher slurm: 'sbatch' is not on PATH; run on a Slurm login node")
    assert nothing_submitted(tmp_path)


@pytest.mark.parametrize("options, launcher, message", [
    (["--partition", "gpus"], None, "error: launcher.partition / --partition: unknown partition 'gpus' "
                                    "(did you mean 'gpu'?); sinfo lists: debug, gpu"),
    ([], {"partition": "cpu"}, "unknown partition 'cpu'"),
    (["--time", "soon"], None, "error: --time: Value error, 'soon' is not a Slurm time"),
    (["--sbatch-arg=--signal=USR2@30"], None, "'--signal' is set by actionbench; use "
                                              "launcher.signal_delay_s"),
    (["--nodes", "0"], None, "error: --nodes: Input should be greater than 0; got 0"),
])
def test_bad_settings_are_one_line_and_nothing_is_submitted(cluster, write_yaml, tmp_path, capsys,
                                                            options, launcher, message):
    assert submit(write_yaml, tmp_path, *options, launcher=launcher) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error
    assert nothing_submitted(tmp_path, cluster)


def test_launcher_options_without_a_launcher_are_refused(write_yaml, tmp_path, capsys):
    path = write_yaml("exp.yaml", tiny_experiment())
    assert main(["run", str(path), "--runs", str(tmp_path / "runs"), "--partition", "gpu", "--wait"]) == 2
    assert capsys.readouterr().err == ("error: run: --partition apply to cluster jobs; add --launcher slurm "
                                       "(or local)\n")
