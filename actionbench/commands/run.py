"""`run`, `eval` and `profile`: the commands that build networks from experiment files."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ..config import load_plans
from ..core.distributed import session
from ..core.errors import UserError
from ..core.signals import deferred_stop
from ..engine.train import TrainingInterrupted, agreed_stop
from ..plan.plan import Plan
from ..runner import BUSY, evaluate_weights, profile_experiment, resolve_device, run_experiment
from ..store.record import FAILED
from ..store.run_store import RunStore

log = logging.getLogger("actionbench")

BUSY_EXIT = 75
"""EX_TEMPFAIL of sysexits.h ("a temporary failure ... the user is invited to retry later"):
the one experiment asked for is being run by another process."""


def select(plans: list[Plan], shard: tuple[int, int] | None) -> list[Plan]:
    """This machine's share of a matrix: every N-th plan from the I-th, for `--shard I/N`."""
    if shard is None:
        return plans
    index, count = shard
    return plans[index::count]


def dry_run_listing(plans: list[Plan]) -> str:
    """One line per experiment: id, method, backbone, dataset, frames, protocol and its file."""
    lines = [f"{plan.id}\t{plan.method.name}\t{plan.backbone}\t{plan.spec.data.dataset}\t"
             f"f{plan.spec.data.frames}\t{plan.protocol.describe()}\t{plan.source}" for plan in plans]
    return "\n".join([*lines, f"{len(plans)} experiments"])


def planned(args: argparse.Namespace) -> list[Plan] | None:
    """The experiments `run` was given (this shard's share), or None once `--dry-run` has
    listed them: the same for a run here and for cluster jobs."""
    plans = select(load_plans(args.paths, args.overrides), args.shard)
    if args.dry_run:
        print(dry_run_listing(plans))
        return None
    return plans


def run(args: argparse.Namespace) -> int:
    plans = planned(args)
    if plans is None:
        return 0
    store = RunStore(args.runs)
    statuses = []
    try:
        with deferred_stop(), session(resolve_device(args.device)) as device:  # torchrun: several
            for number, plan in enumerate(plans, 1):
                log.info("[%d/%d] %s", number, len(plans), plan.id)
                statuses.append(run_experiment(plan, store, device, force=args.force))
                signum = agreed_stop()  # one that came after the experiment's last boundary
                if signum is not None and number < len(plans):
                    raise TrainingInterrupted(signum, f"after {plan.id} finished")
    except TrainingInterrupted as stop:
        print(f"{stop}; {len(statuses)} of {len(plans)} experiments done before it; `run` again "
              f"resumes", file=sys.stderr)
        return 128 + stop.signum
    failed, busy = statuses.count(FAILED), statuses.count(BUSY)
    log.info("%d experiments, %d failed, %d running in another process; results in %s",
             len(plans), failed, busy, args.runs)
    if failed:
        return 1
    if busy and len(plans) == 1:
        print(f"error: {plans[0].id} is being run by another process (see the warning above); "
              f"nothing was done", file=sys.stderr)
        return BUSY_EXIT
    return 0


def evaluate(args: argparse.Namespace) -> int:
    if len(args.paths) != 1:
        raise UserError("eval: give one experiment file (a weights file fits one experiment)")
    from ..api import resolve_plan

    plan = resolve_plan(args.paths[0], args.overrides)
    evaluate_weights(plan, args.weights, RunStore(args.runs), resolve_device(args.device))
    return 0


def profile(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    for plan in load_plans(args.paths, args.overrides):
        cost = profile_experiment(plan, device, speed=not args.no_speed)
        if args.json:
            print(json.dumps(cost), flush=True)
        else:
            speed = (f", {cost['latency_ms']:.1f} ms/clip, {cost['throughput']:.1f} clips/s"
                     if "latency_ms" in cost else "")
            print(f"{cost['name']}: {cost['gflops']:.2f} GFLOPs, {cost['params_m']:.2f} M params"
                  f"{speed}", flush=True)
    return 0
