"""What a job asks of the scheduler: an experiment's `launcher:` section with the command line's
options over it, turned into submitit's parameters, and checked before anything is submitted.

Slurm tells a job that its time is nearly up with the signal of `--signal` (sent to every task
`signal_delay_s` before the limit). We ask for SIGUSR1, the signal `core/signals.py` turns into
a checkpoint at the next iteration boundary, rather than submitit's default SIGUSR2, whose
handler checkpoints and requeues at once, in the middle of an iteration
(facebookincubator/submitit@v1.5.4:submitit/core/job_environment.py, `_handle_signals`). The
job's environment sets `SUBMITIT_PREEMPT_SIGNAL=USR1`, so submitit's own handler listens on the
same signal outside the training loop (while the job starts, and while `job.py` hands over to
it). submitit moved off SIGUSR1 because NCCL 2.12 caught it (facebookincubator/submitit#1697);
NCCL stopped doing so by default in the next release (NVIDIA/nccl#704), long before the NCCL
that torch>=2.4 ships.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from pydantic import ValidationError

from ..core.errors import UserError, did_you_mean
from ..plan.plan import Plan
from ..plan.schema import LauncherSpec

LAUNCHERS = ("local", "slurm")
WARNING_SIGNAL = "USR1"
ENVIRONMENT = {"SUBMITIT_PREEMPT_SIGNAL": WARNING_SIGNAL}
"""Set in every job's environment (a line of the sbatch script; the local executor's processes
inherit it)."""
MANAGED_FLAGS = {
    "signal": "launcher.signal_delay_s", "output": None, "error": None, "open-mode": None,
    "array": None, "job-name": None, "requeue": None, "nodes": "launcher.nodes",
    "ntasks-per-node": "launcher.gpus_per_node", "gpus-per-node": "launcher.gpus_per_node",
    "cpus-per-task": "launcher.cpus_per_gpu", "mem-per-gpu": "launcher.mem_per_gpu_gb",
    "time": "launcher.time_limit", "partition": "launcher.partition", "account": "launcher.account",
    "qos": "launcher.qos", "constraint": "launcher.constraint",
}
"""sbatch options that actionbench writes itself: `sbatch_args` may not set them (the option to
use instead, or None when the job protocol depends on it)."""


def job_settings(plan: Plan, options: dict[str, Any]) -> LauncherSpec:
    """The plan's `launcher:` section with the command line's `options` (None: not given) over
    it. A bad option value is a UserError naming the option."""
    section = plan.spec.launcher
    given = {name: value for name, value in options.items() if value is not None}
    if "sbatch_args" in given:
        given["sbatch_args"] = [*section.sbatch_args, *given["sbatch_args"]]
    try:
        return LauncherSpec.model_validate({**section.model_dump(), **given})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0])
        where = option_flag(name) if name in given else f"{plan.source}: field 'launcher.{name}'"
        raise UserError(f"{where}: {error['msg']}; got {error['input']!r}") from None


def option_flag(field: str) -> str:
    """The command-line option (cli.py) that sets `launcher.<field>`."""
    return {"time_limit": "--time", "mem_per_gpu_gb": "--mem-per-gpu",
            "sbatch_args": "--sbatch-arg"}.get(field, f"--{field.replace('_', '-')}")


def sbatch_flags(settings: LauncherSpec, source: str) -> dict[str, Any]:
    """`sbatch_args` as submitit's `additional_parameters`: '--name=value' -> {name: value},
    '--name' -> {name: True}."""
    flags: dict[str, Any] = {}
    for argument in settings.sbatch_args:
        name, equals, value = argument.removeprefix("--").partition("=")
        if not argument.startswith("--") or not name:
            raise UserError(f"{source}: launcher.sbatch_args: '{argument}': expected a long sbatch "
                            f"option, e.g. '--exclusive' or '--reservation=NAME'")
        if name in MANAGED_FLAGS:
            instead = MANAGED_FLAGS[name]
            raise UserError(f"{source}: launcher.sbatch_args: '--{name}' is set by actionbench"
                            + (f"; use {instead}" if instead else " (the job protocol needs it)"))
        flags[name] = value if equals else True
    return flags


def processes_per_node(settings: LauncherSpec) -> int:
    """One process per GPU (each trains on `cuda:LOCAL_RANK`), one on a CPU node."""
    return max(settings.gpus_per_node, 1)


def slurm_parameters(plan: Plan, settings: LauncherSpec) -> dict[str, Any]:
    """`SlurmExecutor.update_parameters` for one experiment: one task per GPU on each node, every
    task seeing the node's GPUs (no per-task binding, so `cuda:LOCAL_RANK` is its own)."""
    optional = {"partition": settings.partition, "account": settings.account, "qos": settings.qos,
                "constraint": settings.constraint, "cpus_per_task": settings.cpus_per_gpu,
                "gpus_per_node": settings.gpus_per_node or None,
                "mem_per_gpu": f"{settings.mem_per_gpu_gb:g}G" if settings.mem_per_gpu_gb else None}
    return {
        "job_name": plan.id, "time": settings.time_limit, "nodes": settings.nodes,
        "ntasks_per_node": processes_per_node(settings), "signal_delay_s": settings.signal_delay_s,
        "setup": [f"export {name}={value}" for name, value in ENVIRONMENT.items()],
        "additional_parameters": {"signal": f"{WARNING_SIGNAL}@{settings.signal_delay_s}",
                                  "requeue": True, **sbatch_flags(settings, plan.source)},
        **{name: value for name, value in optional.items() if value is not None},
    }


def local_parameters(settings: LauncherSpec) -> dict[str, Any]:
    """`LocalExecutor.update_parameters`: the same processes on this machine."""
    if settings.nodes > 1:
        raise UserError(f"--launcher local runs on this machine only; got {settings.nodes} nodes "
                        f"(launcher.nodes / --nodes)")
    return {"timeout_min": settings.time_limit, "tasks_per_node": processes_per_node(settings),
            "gpus_per_node": settings.gpus_per_node, "signal_delay_s": settings.signal_delay_s}


def check_slurm(partitions: set[str]) -> None:
    """Before anything is submitted: sbatch exists here, and every partition asked for is one
    that `sinfo` lists (when sinfo is there to ask)."""
    for tool in ("sbatch", "srun"):
        if shutil.which(tool) is None:
            raise UserError(f"--launcher slurm: '{tool}' is not on PATH; run on a Slurm login node, "
                            f"or use --launcher local to run the jobs on this machine")
    known = cluster_partitions()
    unknown = sorted(partitions - known) if known else []
    if unknown:
        raise UserError(f"launcher.partition / --partition: unknown partition '{unknown[0]}'"
                        f"{did_you_mean(unknown[0], known)}; sinfo lists: {', '.join(sorted(known))}")


def cluster_partitions() -> set[str]:
    """The partitions `sinfo` lists (empty when it cannot say)."""
    if shutil.which("sinfo") is None:
        return set()
    try:
        listed = subprocess.run(["sinfo", "--noheader", "--format=%R"], capture_output=True, text=True,
                                timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return {line.strip() for line in listed.splitlines() if line.strip()}
