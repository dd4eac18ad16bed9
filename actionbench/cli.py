"""Command line: argument parsing only; the work is done by `actionbench.commands`.

Every `UserError` becomes one line on stderr and exit code 2, never a traceback. Each command
imports its module only when it runs, so `--help`, `list` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .core.errors import UserError


def existing_path(text: str) -> Path:
    """An experiment file or folder, checked before any command imports torch."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{path}: no such file or folder")
    return path


def parse_shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N (e.g. 0/4), got '{text}'") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"expected 0 <= I < N, got '{text}'")
    return index, count


def parse_weights(text: str) -> list[float]:
    try:
        return [float(weight) for weight in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers (e.g. 1,1.5), got '{text}'") \
            from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmark.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def experiments_args(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("paths", nargs="+", type=existing_path, help="experiment files or folders")
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

    fuse = commands.add_parser("fuse", help="late fusion of the saved predictions of several runs into a "
                               "new record (two streams, separately evaluated clips, seed ensembles)")
    fuse.add_argument("members", nargs="+", metavar="RUN", help="run folders, or run ids under --runs")
    fuse.add_argument("-o", "--out", dest="name", required=True,
                      help="name of the fused run; it goes to RUNS/NAME-<hash>")
    fuse.add_argument("--space", choices=["logits", "probabilities"], default="logits",
                      help="average logits (default; probabilities enter as their logarithms) or "
                      "probabilities")
    fuse.add_argument("--weights", type=parse_weights, metavar="W,W,...",
                      help="one weight per run, e.g. 1,1.5 (default: equal)")
    fuse.add_argument("--runs", type=Path, default=Path("runs"), help="run store (default: runs)")

    listing = commands.add_parser("list", help="what actionbench knows")
    listing.add_argument("what", choices=["methods", "costs", "backbones", "datasets", "experiments",
                                          "fields"])
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
    from .commands import run

    return run.run(args)


def cmd_eval(args: argparse.Namespace) -> int:
    from .commands import run

    return run.evaluate(args)


def cmd_profile(args: argparse.Namespace) -> int:
    from .commands import run

    return run.profile(args)


def cmd_report(args: argparse.Namespace) -> int:
    from .commands import report

    return report.report(args)


def cmd_fuse(args: argparse.Namespace) -> int:
    from .commands import fuse

    return fuse.fuse(args)


def cmd_list(args: argparse.Namespace) -> int:
    from .commands import listing

    print(listing.render(args.what, args.experiments_dir))
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from .commands import data

    return getattr(data, args.data_command)(args)


COMMANDS = {"run": cmd_run, "eval": cmd_eval, "profile": cmd_profile, "report": cmd_report,
            "fuse": cmd_fuse, "list": cmd_list, "data": cmd_data}
