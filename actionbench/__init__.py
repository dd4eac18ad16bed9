"""actionbench: a declarative benchmarking suite for video action recognition."""

__version__ = "0.1.0"

from .api import build_model  # noqa: E402

__all__ = ["build_model"]
