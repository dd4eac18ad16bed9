from __future__ import annotations

import torch
from conftest import tiny_experiment

from actionbench.config import resolve
from actionbench.cost import count_flops, measure_cost
from actionbench.models import build_network


def test_resnet50_tsn_matches_the_papers_convention():
    plan = resolve(tiny_experiment(model__method="tsn", model__backbone="resnet50", data__dataset="ssv2",
                                    data__frames=8, data__input_size=224, data__scale_size=256),
                    "test")
    cost = count_flops(build_network(plan), torch.randn(1, 3, 8, 224, 224))
    # conv multiply-adds 8 x 4,087,136,256 plus the per-frame fc 8 x 2048 x 174 (IBM: 32.70 G)
    assert abs(cost["gflops"] - 32.69994) < 1e-4
    assert abs(cost["params_m"] - 23.864558) < 1e-6  # 23,508,032 + 2048*174 + 174
    assert cost["gflops_other"] > 0  # batch norm and pooling, kept apart
    assert "batch_norm" in cost["flops_by_operator"]


def test_measure_cost_reports_speed_on_the_cpu():
    plan = resolve(tiny_experiment(), "test")
    cost = measure_cost(build_network(plan), plan, torch.device("cpu"))
    assert cost["latency_ms"] > 0 and cost["throughput"] > 0
    assert cost["throughput_batch"] == 2
    assert cost["cost_device"].startswith("cpu")
    assert cost["memory_mb"] is None
