"""The command line answers help, listings and argument errors at once: only the commands that
build networks import torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import sys
from actionbench.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = sorted(name for name in ("torch", "torchvision", "fvcore") if name in sys.modules)
print("HEAVY:" + ",".join(heavy))
sys.exit(code)
"""


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args, code", [
    (["--help"], 0), (["run", "--help"], 0), (["list", "datasets"], 0), (["list", "fields"], 0),
    (["run", "no/such/file.yaml"], 2), (["run", "experiments", "--shard", "5/2"], 2),
    (["frobnicate"], 2),
])
def test_answers_without_importing_torch(args, code):
    done = run_cli(*args)
    assert done.returncode == code, done.stderr
    assert done.stdout.strip().endswith("HEAVY:"), done.stdout[-300:]


def test_a_missing_experiment_file_is_named_in_one_line():
    done = run_cli("run", "no/such/file.yaml")
    assert "no/such/file.yaml: no such file or folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_probe_sees_torch_when_a_command_needs_it():
    assert "torch" in run_cli("list", "methods").stdout.strip().rsplit("HEAVY:", 1)[1]
