"""The cross-method speed table on named hardware: every experiment given (by default each
method at the setting of its published cost, bench/costs/), its batch-1 latency, its best
inference throughput over a few batch sizes and the peak memory at that batch.

Each figure comes from the project's one cost protocol, `actionbench.cost.measure_speed`
(eval mode, warm-up, CUDA events around each timed pass, median of many), so the table agrees
with the latency and throughput of every result record. The model is prepared as training
prepares it on CUDA: the experiment's autocast (bf16 unless it says otherwise) and
channels-last weights, and cuDNN autotuning on. GFLOPs per view come from the committed fvcore
counts (bench/results/paper_costs.jsonl, device-independent), matched by experiment id, so a
changed setting shows no stale count; parameters are counted here.

The table is rewritten after every row, so a run stopped at its time limit keeps the rows it
measured.

    python bench/speed_table.py [PATH...] [--batches 16 32 64] [--set K=V]... --out DIR
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
from pathlib import Path

import torch
from common import default_device, header
from tabulate import tabulate

from actionbench.config import load_plans
from actionbench.cost import measure_speed
from actionbench.cost.latency import device_name
from actionbench.models import build_network
from actionbench.plan.plan import Plan

BENCH = Path(__file__).resolve().parent
EXPERIMENTS = BENCH.parent / "experiments"
PUBLISHED_SETTINGS = [BENCH / "costs" / name for name in
                      ("resnet50_f8_ssv2.yaml", "s3d_f16_k400.yaml", "video_resnets_f16_k400.yaml")] + [
    EXPERIMENTS / name for name in
    ("mini_ssv2/s3d_resnet50_f8.yaml", "kinetics400/slowfast_r50_4x16.yaml", "kinetics400/x3d_m.yaml",
     "kinetics400/timesformer_f8.yaml", "kinetics400/videomae_vit_b_f16.yaml",
     "kinetics400/mvit_v2_s_f16.yaml", "kinetics400/swin3d_t_f32.yaml")]
"""The 2D methods and I3D at ResNet-50 8x224 (Something-Something's 174 classes), S3D at
16x224 and the torchvision video ResNets at 16x112 (Kinetics-400): their papers' settings; IBM's
S3D-ResNet-50 at its mini-SSv2 row, SlowFast, X3D and the video transformers at the Kinetics-400
rows of their published costs."""


def with_throughput_batch(plan: Plan, batch: int) -> Plan:
    cost = plan.spec.cost.model_copy(update={"throughput_batch": batch})
    return dataclasses.replace(plan, spec=plan.spec.model_copy(update={"cost": cost}))


def measure(plan: Plan, batches: list[int], device: torch.device) -> dict:
    """Latency at batch 1 and throughput at each batch (ascending, stopping at the first batch
    that does not fit in memory); the best batch's throughput and peak memory."""
    model = build_network(plan).to(device)
    runs = []
    for batch in batches:
        try:
            runs.append(measure_speed(model, with_throughput_batch(plan, batch), device))
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
    if not runs:
        raise RuntimeError(f"out of memory already at batch {batches[0]}")
    best = max(runs, key=lambda run: run["throughput"])
    return {"params_m": sum(param.numel() for param in model.parameters()) / 1e6,
            "latency_ms": runs[0]["latency_ms"], "latency_iqr_ms": runs[0]["latency_iqr_ms"],
            "throughput": best["throughput"], "best_batch": best["throughput_batch"],
            "memory_gib": None if best["memory_mb"] is None else best["memory_mb"] / 1024,
            "throughput_by_batch": {run["throughput_batch"]: run["throughput"] for run in runs},
            "device": best["cost_device"], "dtype": best["cost_dtype"]}


def published_gflops(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    return {row["id"]: row["gflops"] for row in map(json.loads, path.read_text().splitlines())}


def table(rows: list[dict]) -> str:
    def number(value, digits: int) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    body = [[row["method"], row["backbone"], f"{row['frames']}×{row['input_size']}",
             number(row.get("gflops"), 2), number(row.get("params_m"), 2),
             number(row.get("latency_ms"), 2), number(row.get("throughput"), 1), row.get("best_batch", "—"),
             number(row.get("memory_gib"), 2), row.get("error", "")]
            for row in rows]
    return tabulate(body, headers=["method", "backbone", "frames×size", "GFLOPs/view", "params (M)",
                                   "latency b=1 (ms)", "best clips/s", "at batch", "peak memory (GiB)",
                                   "error"],
                    tablefmt="pipe", colalign=("left", "left", "left", *["right"] * 6, "left"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=PUBLISHED_SETTINGS)
    parser.add_argument("--batches", type=int, nargs="+",
                        default=[16, 32, 64] if torch.cuda.is_available() else [2, 4])
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument("--costs", type=Path, default=BENCH / "results" / "paper_costs.jsonl",
                        help="fvcore counts to show beside the speed, by experiment id")
    parser.add_argument("--out", type=Path, required=True, help="folder for README.md and speed.jsonl")
    args = parser.parse_args()
    device = default_device()
    # Speed does not depend on the weights: no row needs an ImageNet file on the machine.
    plans = load_plans(args.paths, ["model.pretrained=none", *args.overrides])
    gflops = published_gflops(args.costs)
    intro = header("speed_table: inference speed of every method at its published setting")
    args.out.mkdir(parents=True, exist_ok=True)
    cost = plans[0].spec.cost
    settings = (f"{device_name(device)}; autocast {plans[0].spec.train.amp} on CUDA (float32 on the "
                f"CPU), channels-last and cuDNN autotuning on CUDA, eager; latency: median of "
                f"{cost.repeats} batch-1 forward passes after {cost.warmup} warm-ups; throughput: the best "
                f"of batches {', '.join(map(str, sorted(args.batches)))}; peak memory: at that batch; "
                f"GFLOPs: {args.costs.name} by experiment id ('—': not counted at this setting)")
    print(intro + settings + "\n", flush=True)
    rows: list[dict] = []
    for plan in plans:
        # the timed view: the test clip and crop (the frames×size column)
        row = {"id": plan.id, "name": plan.name, "method": plan.method.name,
               "backbone": plan.backbone, "frames": plan.protocol.test_frames,
               "input_size": plan.input_size, "gflops": gflops.get(plan.id)}
        try:
            row.update(measure(plan, sorted(args.batches), device))
        except Exception as exc:  # one model's failure must not cost the other rows
            row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        rows.append(row)
        print(json.dumps(row), flush=True)
        (args.out / "README.md").write_text(f"```\n{intro}```\n\n{settings}\n\n{table(rows)}\n")
        (args.out / "speed.jsonl").write_text("".join(json.dumps(line) + "\n" for line in rows))
    print(f"\n{table(rows)}")


if __name__ == "__main__":
    main()
