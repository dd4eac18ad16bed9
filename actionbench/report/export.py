"""results.csv: one row per experiment with every field of its record, for people who plot or
test the numbers themselves. Nested fields are dotted columns (`paper.top1`,
`provenance.versions.torch`); the identifying and headline columns come first, with each
accuracy's 95 % interval (`top1_low`, `top1_high`, ...) and its seed group (`seed_group`, the id
of the group's lowest-seed run; `seeds`; `top1_seed_mean`, `top1_seed_std`). Seed groups stay
one row per run here: the tables merge them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.atomic import write_text

FIRST = ["id", "name", "dataset", "status", "reason", "family", "method", "reconstructed", "backbone",
         "frames", "input_size", "clips", "crops", "views", "top1", "top1_low", "top1_high", "top5",
         "top5_low", "top5_high", "mean_class_acc", "mean_class_acc_low", "mean_class_acc_high", "seed_group",
         "seeds", "top1_seed_mean", "top1_seed_std", "gflops",
         "gflops_video", "params_m", "latency_ms", "throughput", "device", "paper.top1", "delta_top1",
         "paper.gflops", "delta_gflops_pct", "paper.params_m", "delta_params_pct", "paper.source"]
PRESENTATION_ONLY = ["label", "views_label"]
INTEGERS = ["frames", "input_size", "clips", "crops", "views", "num_classes", "epochs", "throughput_batch",
            "cost_threads", "seeds"]
"""Counts stay integers even where an unfinished experiment leaves them empty."""


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    first = [column for column in FIRST if column in frame]
    rest = [column for column in frame.columns if column not in first and column not in PRESENTATION_ONLY]
    frame = frame.astype({column: "Int64" for column in INTEGERS if column in frame})
    write_text(path, frame[first + rest].to_csv(index=False))
    return Path(path)
