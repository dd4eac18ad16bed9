"""A job's settings: the `launcher:` section under the command line's options, Slurm's time
formats, sbatch options actionbench must keep for itself, and the checks that run before
anything is submitted."""

from __future__ import annotations

import pytest
from conftest import tiny_experiment

from actionbench.config import load_plans
from actionbench.core.errors import UserError
from actionbench.launch import settings
from actionbench.plan.plan import spec_id
from actionbench.plan.schema import LauncherSpec, slurm_minutes


@pytest.mark.parametrize("text, minutes", [
    ("90", 90), ("1:30", 2), ("1:00", 1), ("2:00:00", 120), ("1-12", 2160), ("1-00:30", 1470),
    ("0-0:0:1", 1), ("3-0", 4320),
])
def test_slurm_times_become_minutes_rounded_up(text, minutes):
    assert slurm_minutes(text) == minutes
    assert LauncherSpec(time_limit=text).time_limit == minutes


@pytest.mark.parametrize("text", ["soon", "1:2:3:4", "-5", "1-", "a-1:00"])
def test_other_times_are_refused(text):
    with pytest.raises(ValueError, match="is not a Slurm time"):
        slurm_minutes(text)


def plan_with(write_yaml, launcher: dict | None = None, name: str = "exp.yaml"):
    spec = tiny_experiment()
    if launcher is not None:
        spec["launcher"] = launcher
    (plan,) = load_plans([write_yaml(name, spec)])
    return plan


def test_the_section_is_not_part_of_the_run_id_nor_of_the_config(write_yaml):
    plain = plan_with(write_yaml, name="a.yaml")
    placed = plan_with(write_yaml, {"partition": "gpu", "time_limit": "2-00:00:00"}, name="b.yaml")
    assert placed.id == plain.id == spec_id(placed.spec)
    assert "launcher" not in placed.spec.model_dump()
    assert placed.spec.launcher.partition == "gpu" and placed.spec.launcher.time_limit == 2880


def test_command_line_options_win_and_sbatch_args_add_up(write_yaml):
    plan = plan_with(write_yaml, {"partition": "debug", "account": "vision", "nodes": 2,
                                  "sbatch_args": ["--exclusive"]})
    chosen = settings.job_settings(plan, {"partition": "gpu", "nodes": None, "time_limit": "30",
                                          "sbatch_args": ["--reservation=big"]})
    assert (chosen.partition, chosen.account, chosen.nodes, chosen.time_limit) == ("gpu", "vision", 2, 30)
    assert chosen.sbatch_args == ["--exclusive", "--reservation=big"]


def test_a_bad_option_names_the_flag_and_a_bad_field_names_the_file(write_yaml):
    with pytest.raises(UserError, match=r"exp.yaml: field 'launcher.gpus_per_node'"):
        plan_with(write_yaml, {"gpus_per_node": -1})
    with pytest.raises(UserError, match=r"^--time: .*not a Slurm time"):
        settings.job_settings(plan_with(write_yaml, name="ok.yaml"), {"time_limit": "soon"})


def test_an_unknown_key_of_the_section_is_refused_with_a_suggestion(write_yaml):
    with pytest.raises(UserError, match=r"unknown key 'partiton' \(did you mean 'partition'\?\)"):
        plan_with(write_yaml, {"partiton": "gpu"})


@pytest.mark.parametrize("argument, message", [
    ("--signal=USR2@60", "'--signal' is set by actionbench; use launcher.signal_delay_s"),
    ("--output=x.log", "'--output' is set by actionbench (the job protocol needs it)"),
    ("-p gpu", "expected a long sbatch option"),
])
def test_sbatch_args_may_not_take_over_what_the_job_protocol_sets(argument, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings.sbatch_flags(LauncherSpec(sbatch_args=[argument]), "exp.yaml")


def test_sbatch_args_become_submitit_parameters():
    flags = settings.sbatch_flags(LauncherSpec(sbatch_args=["--exclusive", "--reservation=big"]), "x")
    assert flags == {"exclusive": True, "reservation": "big"}


def test_a_local_launcher_has_one_node():
    with pytest.raises(UserError, match="this machine only; got 2 nodes"):
        settings.local_parameters(LauncherSpec(nodes=2))
    assert settings.local_parameters(LauncherSpec(gpus_per_node=0))["tasks_per_node"] == 1
