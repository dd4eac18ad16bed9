"""`data synth|convert|extract`: making and converting datasets."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from tabulate import tabulate

from ..core.errors import UserError
from ..data import synthmotion
from ..data.catalog import get_dataset
from ..data.convert import pipeline
from ..data.extract import FAILURES, ExtractConfig, extract_all

log = logging.getLogger("actionbench")


def synth(args: argparse.Namespace) -> int:
    options = {key: getattr(args, key) for key in
               ("train_per_class", "val_per_class", "frames", "size", "seed")}
    config = replace(synthmotion.SynthConfig(),
                     **{key: value for key, value in options.items() if value is not None})
    out = args.out or Path(get_dataset("synthmotion").root)
    generated = synthmotion.ensure(out, config)
    log.info("%s synthmotion in %s", "generated" if generated else "already present:", out)
    return 0


def convert(args: argparse.Namespace) -> int:
    report = pipeline.convert(args.dataset, args.annotations, args.root, args.out,
                              split=args.split, classes=args.classes, layout=args.layout,
                              template=args.template, list_format=args.list_format, jobs=args.jobs)
    for warning in report.warnings:
        log.warning("%s", warning)
    print(tabulate([[row.split, row.list_file or "(not written)", row.entries, row.written,
                     row.entries - row.written] for row in report.splits],
                   headers=["split", "list", "videos", "written", "missing"]))
    if report.missing:
        log.warning("%d annotated videos not found or not readable, listed with the reason in %s",
                    report.missing, report.out / pipeline.MISSING_FILE)
    log.info("%d classes; lists and classes.txt in %s", report.classes, report.out)
    empty = [row for row in report.splits if row.entries and not row.written and row.split != "test"]
    if empty:
        # An unlabelled test split is often not downloaded; a training or validation list is needed.
        splits = " and ".join(f"'{row.split}' ({row.entries} videos)" for row in empty)
        raise UserError(f"data convert {args.dataset}: nothing written for split {splits}: no annotated "
                        f"video was found below --root {args.root} (reasons in "
                        f"{report.out / pipeline.MISSING_FILE}); pass --root the folder that holds the "
                        f"videos or frame folders (searched recursively), and --layout frames|videos "
                        f"or --template if they are stored otherwise")
    return 0


def extract(args: argparse.Namespace) -> int:
    config = ExtractConfig(args.fps, args.short_side, args.template, args.quality)
    report = extract_all(args.videos, args.out, config, jobs=args.jobs)
    log.info("%d videos extracted, %d already done, %d failed; frames in %s",
             report.extracted, report.skipped, len(report.failed), args.out)
    if report.failed:
        log.warning("failures, with the reason, in %s", args.out / FAILURES)
    return 1 if report.failed else 0
