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


def test_cost_is_counted_on_the_test_crop():
    """TSM's and IBM's full-resolution rows train on 224 crops and score 256 ones: a view costs
    what a 256 x 256 view costs. ResNet-18 conv multiply-adds per frame (docs/cost.md): 1,813,561,344
    at 224 and 2,368,733,184 = 1,813,561,344 x (256/224)^2 at 256; the per-frame fc adds
    512 x 10 (synthmotion's 10 classes) at either size."""
    def gflops(**evaluation) -> float:
        plan = resolve(tiny_experiment(model__method="tsn", data__frames=2, data__input_size=224,
                                        data__scale_size=256, **evaluation), "test")
        assert plan.num_classes == 10
        return measure_cost(build_network(plan), plan, torch.device("cpu"), speed=False)["gflops"]

    head = 2 * 512 * 10 / 1e9
    at_224 = gflops()
    at_256 = gflops(eval__input_size=256, eval__scale_size=256)
    assert abs(at_224 - (2 * 1_813_561_344 / 1e9 + head)) < 1e-9
    assert abs(at_256 - (2 * 2_368_733_184 / 1e9 + head)) < 1e-9
    assert abs((at_256 - head) / (at_224 - head) - (256 / 224) ** 2) < 1e-12
