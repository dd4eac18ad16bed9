"""Models: importing this package registers every backbone and method in
`plan.registry`."""

from . import backbones, s3d_resnet, slowfast, temporal, transformers, video3d, x3d  # noqa: F401
from .builder import build_network

__all__ = ["build_network"]
