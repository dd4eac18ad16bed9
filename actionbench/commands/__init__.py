"""What each command of `benchmark.py` does, one module per group; `cli.py` parses the
arguments and imports only the module of the command asked for, so that `--help`, `list` and
argument errors answer without importing torch."""
