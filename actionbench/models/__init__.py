"""Models: importing this package registers every backbone and method in
`plan.registry`."""

from . import backbones, temporal, transformers, video3d  # noqa: F401
from .builder import build_network

__all__ = ["build_network"]
