"""actionbench: a declarative benchmarking suite for video action recognition."""

from .core.version import __version__

__all__ = ["__version__", "build_model"]


def __getattr__(name: str):
    """`actionbench.build_model`, imported on first use: the command line imports this package
    for every command, and most commands (help, list, argument errors) need no torch."""
    if name == "build_model":
        from .api import build_model

        return build_model
    raise AttributeError(f"module 'actionbench' has no attribute {name!r}")
