"""Step 6 of bench/gpu.sh: one text that puts every figure of the run beside its target in
issue 17, so the reader of a device run does not have to dig through the logs.

- the steps: what ran, for how long, and what was stopped or skipped for want of time;
- the throughput ratios: every line of the benchmarks' output that states a target
  ("b/a = 3.10 (target >= 3 on an H100/H200)"), with met or missed;
- the smoke matrix: each method's top-1 against its target: a temporal method must pass
  85 %; TSN, which cannot see frame order, must stay near chance within each time-reversed
  pair (50 %), i.e. at most 65 % (README.md, "What the smoke run shows");
- the speed table: how many methods were measured and which failed;
- the commands that produced it all.

    python bench/gpu/summary.py --steps STEPS.tsv --results DIR --runs DIR --speed FILE --commands FILE
                                [--cpu-check]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import yaml

TEMPORAL_TARGET = 85.0
ORDER_BLIND = {"tsn": 65.0}
"""Methods that cannot tell a clip from its reversal, with the highest top-1 that still counts
as chance within the pairs (50 %, plus sampling noise over 160 validation clips)."""
TARGET = re.compile(r"(?P<value>\d+(?:\.\d+)?)x?\s*\(target >= (?P<target>\d+(?:\.\d+)?)")
PYTEST_TOTALS = re.compile(r"\d+ (passed|failed|skipped|errors?|deselected)")


def step_lines(path: Path) -> list[str]:
    rows = [line.split("\t") for line in path.read_text().splitlines() if line]
    return [f"  step {number}: {title:44s} {status} ({seconds} s){': ' + detail if detail else ''}"
            for number, title, status, seconds, detail in rows]


def target_lines(results: Path) -> list[str]:
    """Every stated target in the benchmark outputs, in file order, with its verdict."""
    lines = []
    for path in sorted(results.glob("*throughput*.txt")):
        for line in path.read_text().splitlines():
            if match := TARGET.search(line):
                met = float(match["value"]) >= float(match["target"])
                lines.append(f"  {path.stem}: {line.strip()} -> {'met' if met else 'MISSED'}")
    return lines or ["  (no throughput benchmark finished)"]


def pytest_line(results: Path) -> str:
    for path in results.glob("*cuda_tests.txt"):
        totals = [line for line in path.read_text().splitlines() if PYTEST_TOTALS.search(line)]
        if totals:
            return f"  CUDA-only tests: {totals[-1].strip('= ')}"
    return "  CUDA-only tests: no result"


def smoke_verdict(method: str, top1: float | None) -> str:
    if top1 is None:
        return "no accuracy"
    if method in ORDER_BLIND:
        ceiling = ORDER_BLIND[method]
        return f"at chance (<= {ceiling:.0f} %)" if top1 <= ceiling else f"ABOVE CHANCE (> {ceiling:.0f} %)"
    return f"passes {TEMPORAL_TARGET:.0f} %" if top1 >= TEMPORAL_TARGET else f"BELOW {TEMPORAL_TARGET:.0f} %"


def smoke_lines(runs: Path) -> list[str]:
    lines = []
    for run in sorted(path for path in runs.glob("*") if (path / "config.yaml").exists()):
        spec = yaml.safe_load((run / "config.yaml").read_text())
        method = spec["model"]["method"]
        planned = spec["train"]["epochs"]
        if (run / "result.json").exists():
            record = json.loads((run / "result.json").read_text())
            top1 = record.get("top1")
            accuracy = "n/a" if top1 is None else f"{top1:5.1f} %"
            lines.append(f"  {method:9s} top-1 {accuracy}  {record.get('epochs')}/{planned} epochs, "
                         f"{record.get('wall_time_s', 0):5.1f} s, {record.get('status')}: "
                         f"{smoke_verdict(method, top1)}")
        else:
            metrics = run / "metrics.jsonl"
            done = len(metrics.read_text().splitlines()) if metrics.exists() else 0
            lines.append(f"  {method:9s} unfinished: {done}/{planned} epochs logged when the step stopped")
    return lines or ["  (no smoke run started)"]


def speed_lines(path: Path) -> list[str]:
    if not path.exists():
        return ["  (no speed table)"]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    failed = [f"{row['method']} ({row['error']})" for row in rows if "error" in row]
    listed = f": {'; '.join(failed)}" if failed else ""
    return [f"  {len(rows)} methods measured, {len(failed)} failed{listed}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=Path, required=True, help="the steps' table bench/gpu.sh keeps")
    parser.add_argument("--results", type=Path, required=True, help="folder of the step outputs")
    parser.add_argument("--runs", type=Path, required=True, help="the smoke matrix's run folders")
    parser.add_argument("--speed", type=Path, required=True, help="the speed table's speed.jsonl")
    parser.add_argument("--commands", type=Path, required=True, help="the commands bench/gpu.sh ran")
    parser.add_argument("--cpu-check", action="store_true", help="a `bench/gpu.sh --cpu` run")
    args = parser.parse_args()
    if args.cpu_check:
        print("bench/gpu.sh --cpu: the steps at their smallest sizes on a CPU, to check the script; "
              "the targets below apply to the GPU run, not to these figures\n")
    sections = {
        "steps": step_lines(args.steps),
        "tests": [pytest_line(args.results)],
        "throughput against the targets of issue 17": target_lines(args.results),
        f"smoke matrix (temporal methods >= {TEMPORAL_TARGET:.0f} %, TSN at chance)": smoke_lines(args.runs),
        "speed table": speed_lines(args.speed),
        "commands": ["  " + line for line in args.commands.read_text().splitlines()],
    }
    print("\n\n".join(f"{title}:\n" + "\n".join(lines) for title, lines in sections.items()))


if __name__ == "__main__":
    main()
