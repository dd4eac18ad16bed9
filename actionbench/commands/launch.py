"""`run --launcher slurm|local`: the matrix as one job per experiment (`actionbench/launch/`)."""

from __future__ import annotations

import argparse
import sys

from tabulate import tabulate

from ..launch.submit import submit, wait
from ..store.record import FAILED
from ..store.run_store import RunStore
from . import status
from .run import planned


def run(args: argparse.Namespace) -> int:
    plans = planned(args)
    if plans is None:
        return 0
    store = RunStore(args.runs)
    options = {field: getattr(args, field) for field in args.launcher_options}
    submissions = submit(plans, store, args.launcher, options, args.device, args.force)
    rows = [[item.plan.id, item.job_id, item.note] for item in submissions]
    print(tabulate(rows, headers=["experiment", f"{args.launcher} job", ""], tablefmt="plain",
                   disable_numparse=True), flush=True)
    submitted = sum(1 for item in submissions if item.job is not None)
    print(f"{submitted} of {len(plans)} experiments submitted; logs in {store.root}/.submitit/<job>/; "
          f"`benchmark.py status {store.root}` follows them", flush=True)
    if not args.wait:
        return 0
    try:
        outcomes = wait(submissions, store)
    except KeyboardInterrupt:
        print("stopped waiting; the jobs go on (`benchmark.py status` follows them)", file=sys.stderr)
        return 130
    print(status.render(status.experiment_rows(plans, [store])))
    return 1 if any(outcome == FAILED or outcome.startswith("job failed") for outcome in outcomes.values()) \
        else 0
