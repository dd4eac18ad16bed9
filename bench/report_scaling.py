"""How `report` grows with the number of records: times `write_report` on 100, 1,000 and
10,000 synthetic run folders (a matrix of methods x datasets x frame counts x seeds, each with
a record and a metrics log) and prints each size's wall time and CPU time, figures included,
and the growth ratio (of CPU time, which other jobs on the machine do not inflate) per tenfold.
Linear growth is a ratio near 10.

    python bench/report_scaling.py [--sizes 100 1000 10000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a checkout, installed or not

from actionbench.plan.registry import METHODS  # noqa: E402
from actionbench.report import write_report  # noqa: E402
from actionbench.store.record import CONFIG_FILE, RunRecord  # noqa: E402
from bench.common import header  # noqa: E402

DATASETS = ("ssv2", "kinetics400", "ucf101", "diving48")
FRAMES = (8, 16, 32)
EPOCHS = 5


def make_store(root: Path, count: int, seed: int = 0) -> Path:
    """`count` run folders under `root`: method, dataset, frames and seed cycle through the
    matrix; accuracy and cost are drawn so that no two records are alike."""
    rng = random.Random(seed)
    methods = sorted(METHODS)
    root.mkdir(parents=True)
    for index in range(count):
        method = methods[index % len(methods)]
        dataset = DATASETS[index // len(methods) % len(DATASETS)]
        frames = FRAMES[index // (len(methods) * len(DATASETS)) % len(FRAMES)]
        seed_number = index // (len(methods) * len(DATASETS) * len(FRAMES))
        name = f"{method}-{dataset}-f{frames}-s{seed_number}"
        top1 = rng.uniform(20, 80)
        gflops = rng.uniform(30, 200) if METHODS[method].family == "3D" else rng.uniform(5, 70)
        record = RunRecord(
            id=f"{name}-{index:08x}", name=name, status="finished", method=method,
            family=METHODS[method].family, reconstructed=METHODS[method].reconstructed,
            backbone=METHODS[method].default_backbone, dataset=dataset, num_classes=174,
            frames=frames, input_size=224, clips=1, crops=1, views=1, top1=top1,
            top5=min(100.0, top1 + 25), mean_class_acc=top1 - 2, epochs=EPOCHS, wall_time_s=3600.0,
            device="cuda", gflops=gflops * frames / 8, params_m=rng.uniform(10, 60),
            latency_ms=rng.uniform(5, 50), throughput=rng.uniform(50, 900), throughput_batch=32)
        folder = root / record.id
        folder.mkdir()
        (folder / "result.json").write_text(record.to_json())
        spec = {"name": f"{method}-{dataset}-f{frames}",
                "model": {"method": method, "backbone": record.backbone},
                "data": {"dataset": dataset, "frames": frames}, "train": {"seed": seed_number}}
        (folder / CONFIG_FILE).write_text(yaml.safe_dump(spec, sort_keys=False))  # seeds group by it
        lines = [{"epoch": epoch, "train_loss": 4.0 / epoch, "train_top1": top1 * epoch / EPOCHS,
                  "top1": top1 * epoch / EPOCHS, "val_loss": 4.2 / epoch, "lr": 0.01}
                 for epoch in range(1, EPOCHS + 1)]
        (folder / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    print(header("report scaling"))
    work = Path(args.work or tempfile.mkdtemp(prefix="report_scaling."))
    previous = None
    print(f"{'records':>8} {'wall s':>8} {'CPU s':>8} {'figures':>8} {'curves':>7} {'growth':>7}")
    try:
        for size in args.sizes:
            store = make_store(work / f"runs{size}", size)
            started, cpu = time.perf_counter(), time.process_time()
            report = write_report([store], work / f"report{size}")
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            figures = sum(len(kind.figures) for kind in report.figures.values())
            growth = f"{cpu / previous[1] / (size / previous[0]) * 10:.1f}" if previous else "-"
            print(f"{size:>8} {seconds:>8.1f} {cpu:>8.1f} {figures:>8} {len(report.curves):>7} {growth:>7}",
                  flush=True)
            previous = (size, cpu)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\ngrowth: the CPU-time ratio per tenfold records (10 = linear)")


if __name__ == "__main__":
    main()
