"""Command line: argument parsing only; the work is done by the modules it calls.

Every `UserError` becomes one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .errors import UserError

log = logging.getLogger("actionbench")


def parse_shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N (e.g. 0/4), got '{text}'") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"expected 0 <= I < N, got '{text}'")
    return index, count


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmark.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def experiments_args(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("paths", nargs="+", type=Path, help="experiment files or folders")
        sub.add_argument("--set", dest="overrides", action="append", default=[],
                         metavar="KEY=VALUE", help="override a field, e.g. train.epochs=1")
        sub.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")

    run = commands.add_parser("run", help="train and evaluate experiments")
    experiments_args(run)
    run.add_argument("--runs", type=Path, default=Path("runs"), help="run store (default: runs)")
    run.add_argument("--dry-run", action="store_true", help="list the expanded experiments only")
    run.add_argument("--force", action="store_true", help="rerun experiments that have a result")
    run.add_argument("--shard", type=parse_shard, metavar="I/N",
                     help="run only every N-th experiment, starting at I")

    evaluation = commands.add_parser("eval", help="evaluate weights from a file (ours or a "
                                     "reference repository's) with the experiment's test protocol")
    experiments_args(evaluation)
    evaluation.add_argument("--weights", type=Path, required=True, help="checkpoint file")
    evaluation.add_argument("--runs", type=Path, default=Path("runs"),
                            help="run store (default: runs)")

    profile = commands.add_parser("profile", help="FLOPs, params and latency; needs no data")
    experiments_args(profile)
    profile.add_argument("--json", action="store_true", help="one JSON object per line")
    profile.add_argument("--no-speed", action="store_true", help="skip latency and throughput")

    report = commands.add_parser("report", help="tables and figures from result records")
    report.add_argument("runs", nargs="*", type=Path, default=[Path("runs")])
    report.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    report.add_argument("--format", dest="table_format", choices=["markdown", "latex"], default="markdown",
                        help="format of the results tables (latex also writes tables.tex)")

    listing = commands.add_parser("list", help="what actionbench knows")
    listing.add_argument("what", choices=["methods", "backbones", "datasets", "experiments", "fields"])
    listing.add_argument("--experiments-dir", type=Path, default=Path("experiments"))

    data = commands.add_parser("data", help="dataset tools")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    synth = data_commands.add_parser("synth", help="generate the synthmotion dataset")
    synth.add_argument("--out", type=Path, default=None, help="default: data/synthmotion")
    synth.add_argument("--train-per-class", type=int, default=None)
    synth.add_argument("--val-per-class", type=int, default=None)
    synth.add_argument("--frames", type=int, default=None, help="frames per clip")
    synth.add_argument("--size", type=int, default=None, help="frame width and height")
    synth.add_argument("--seed", type=int, default=None)

    convert = data_commands.add_parser(
        "convert", help="official annotation files -> train.txt / val.txt / test.txt lists")
    convert.add_argument("dataset", help="dataset name, see `list datasets`")
    convert.add_argument("--annotations", type=Path, required=True,
                         help="folder holding the official annotation files")
    convert.add_argument("--root", type=Path, required=True,
                         help="folder holding the frame folders or video files (searched recursively)")
    convert.add_argument("--out", type=Path, default=None,
                         help="where the lists go, i.e. the data.root to use (default: the catalog's)")
    convert.add_argument("--split", type=int, default=1, help="official split (UCF101, HMDB51: 1-3)")
    convert.add_argument("--classes", type=Path, default=None,
                         help="class-list file: keep these classes, labelled in the file's order")
    convert.add_argument("--layout", choices=["frames", "videos"], default=None,
                         help="look for frame folders or video files (default: the catalog's)")
    convert.add_argument("--template", default=None, help="frame file names (default: the catalog's)")
    convert.add_argument("--format", dest="list_format", choices=["num_frames", "start_end"],
                         default=None, help="list columns (default: the catalog's)")
    convert.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                         help="processes counting video frames (default: all CPUs)")

    extract = data_commands.add_parser("extract", help="video files -> folders of JPEG frames")
    extract.add_argument("--videos", type=Path, required=True, help="folder of video files (recursive)")
    extract.add_argument("--out", type=Path, required=True, help="folder for the frame folders")
    extract.add_argument("--fps", type=float, default=None, help="at most N frames per second")
    extract.add_argument("--short-side", type=int, default=None, help="resize the short side to N px")
    extract.add_argument("--template", default="img_{:05d}.jpg", help="frame file names")
    extract.add_argument("--quality", type=int, default=95, help="JPEG quality (1-100)")
    extract.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                         help="videos extracted in parallel (default: all CPUs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: every file written so far is complete; the same command resumes",
              file=sys.stderr)
        return 130


def cmd_run(args: argparse.Namespace) -> int:
    from .config import load_experiments
    from .engine.distributed import session
    from .results import BUSY, FAILED, RunStore
    from .runner import resolve_device, run_experiment

    experiments = load_experiments(args.paths, args.overrides)
    if args.shard:
        index, count = args.shard
        experiments = experiments[index::count]
    if args.dry_run:
        for experiment in experiments:
            spec = experiment.spec
            print(f"{experiment.id}\t{spec.model.method}\t{spec.model.backbone}\t"
                  f"{spec.data.dataset}\tf{spec.data.frames}\t{experiment.source}")
        print(f"{len(experiments)} experiments")
        return 0
    store = RunStore(args.runs)
    statuses = []
    with session(resolve_device(args.device)) as device:  # several processes under torchrun
        for number, experiment in enumerate(experiments, 1):
            log.info("[%d/%d] %s", number, len(experiments), experiment.id)
            statuses.append(run_experiment(experiment, store, device, force=args.force)["status"])
    failed, busy = statuses.count(FAILED), statuses.count(BUSY)
    log.info("%d experiments, %d failed, %d running in another process; results in %s",
             len(experiments), failed, busy, args.runs)
    return 1 if failed else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .api import resolve_spec
    from .config import Experiment
    from .results import RunStore
    from .runner import evaluate_weights, resolve_device

    if len(args.paths) != 1:
        raise UserError("eval: give one experiment file (a weights file fits one experiment)")
    experiment = Experiment(resolve_spec(args.paths[0], args.overrides), str(args.paths[0]))
    evaluate_weights(experiment, args.weights, RunStore(args.runs), resolve_device(args.device))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from .config import load_experiments
    from .runner import profile_experiment, resolve_device

    device = resolve_device(args.device)
    for experiment in load_experiments(args.paths, args.overrides):
        cost = profile_experiment(experiment, device, speed=not args.no_speed)
        if args.json:
            print(json.dumps(cost), flush=True)
        else:
            speed = (f", {cost['latency_ms']:.1f} ms/clip, {cost['throughput']:.1f} clips/s"
                     if "latency_ms" in cost else "")
            print(f"{cost['name']}: {cost['gflops']:.2f} GFLOPs, {cost['params_m']:.2f} M params"
                  f"{speed}", flush=True)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    log.info("report written to %s", write_report(args.runs, args.out, args.table_format).readme)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from . import listing

    print(listing.render(args.what, args.experiments_dir))
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    return {"synth": data_synth, "convert": data_convert, "extract": data_extract}[args.data_command](args)


def data_synth(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .data import synthmotion
    from .data.catalog import get_dataset

    options = {key: getattr(args, key) for key in
               ("train_per_class", "val_per_class", "frames", "size", "seed")}
    config = replace(synthmotion.SynthConfig(),
                     **{key: value for key, value in options.items() if value is not None})
    out = args.out or Path(get_dataset("synthmotion").root)
    generated = synthmotion.ensure(out, config)
    log.info("%s synthmotion in %s", "generated" if generated else "already present:", out)
    return 0


def data_convert(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from .data.convert.pipeline import MISSING_FILE, convert

    report = convert(args.dataset, args.annotations, args.root, args.out, split=args.split,
                     classes=args.classes, layout=args.layout, template=args.template,
                     list_format=args.list_format, jobs=args.jobs)
    for warning in report.warnings:
        log.warning("%s", warning)
    print(tabulate([[row.split, row.list_file or "(not written)", row.entries, row.written,
                     row.entries - row.written] for row in report.splits],
                   headers=["split", "list", "videos", "written", "missing"]))
    if report.missing:
        log.warning("%d annotated videos not found or not readable, listed with the reason in %s",
                    report.missing, report.out / MISSING_FILE)
    log.info("%d classes; lists and classes.txt in %s", report.classes, report.out)
    return 0


def data_extract(args: argparse.Namespace) -> int:
    from .data.extract import FAILURES, ExtractConfig, extract_all

    config = ExtractConfig(args.fps, args.short_side, args.template, args.quality)
    report = extract_all(args.videos, args.out, config, jobs=args.jobs)
    log.info("%d videos extracted, %d already done, %d failed; frames in %s",
             report.extracted, report.skipped, len(report.failed), args.out)
    if report.failed:
        log.warning("failures, with the reason, in %s", args.out / FAILURES)
    return 1 if report.failed else 0


COMMANDS = {"run": cmd_run, "eval": cmd_eval, "profile": cmd_profile, "report": cmd_report,
            "list": cmd_list, "data": cmd_data}
