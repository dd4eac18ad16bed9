"""Models: importing this package registers every backbone and method."""

from . import backbones, temporal, video3d  # noqa: F401
from .builder import build_network, input_frames
from .registry import BACKBONES, METHODS, get_method

__all__ = ["BACKBONES", "METHODS", "build_network", "get_method", "input_frames"]
