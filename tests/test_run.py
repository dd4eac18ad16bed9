"""`run --dry-run` lists every experiment with its protocol."""

from __future__ import annotations

from conftest import tiny_experiment

from actionbench.commands.run import dry_run_listing
from actionbench.config import resolve


def test_dry_run_names_each_rows_protocol():
    plans = [resolve(tiny_experiment(), "a.yaml"),
             resolve(tiny_experiment(name="twice", eval__clips=2, eval__test_rule="tsm_twice",
                                     eval__aggregate="logits"), "b.yaml")]
    lines = dry_run_listing(plans).splitlines()
    assert lines[-1] == "2 experiments"
    assert lines[0].split("\t") == [plans[0].id, "tsm", "resnet18", "synthmotion", "f4",
                                    "train tile random_resized noflip | test even 1x1 edges 32/32 softmax",
                                    "a.yaml"]
    assert lines[1].split("\t")[5] == \
        "train tile random_resized noflip | test tsm_twice 2x1 edges 32/32 logits"
