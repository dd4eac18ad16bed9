"""`report`: tables and figures from the records of any number of run folders."""

from __future__ import annotations

import argparse
import logging

from ..report import write_report

log = logging.getLogger("actionbench")


def report(args: argparse.Namespace) -> int:
    log.info("report written to %s", write_report(args.runs, args.out, args.table_format).readme)
    return 0
