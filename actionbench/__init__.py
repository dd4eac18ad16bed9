"""actionbench: a declarative benchmarking suite for video action recognition."""

__version__ = "0.1.0"
