"""Backbones by name; importing this package registers them."""

from . import inception, resnet  # noqa: F401
