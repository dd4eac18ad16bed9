#!/usr/bin/env python3
"""actionbench command line: `python benchmark.py --help`."""

import sys

from actionbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
