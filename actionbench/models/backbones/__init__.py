"""Backbones by name; importing this package registers them."""

from . import resnet  # noqa: F401
