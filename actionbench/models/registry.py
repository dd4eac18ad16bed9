"""One registry per kind of thing: methods and backbones, discoverable by name.

A method is a plain function decorated with `@register_method`; it receives a `BuildContext`
and returns an `nn.Module` that maps normalised clips (N, C, T, H, W) to logits (N, classes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from torch import nn

from ..errors import UserError, unknown_name_message


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class BuildContext:
    """Everything a method needs to build its network."""

    backbone: str
    num_classes: int
    frames: int
    dropout: float = 0.5
    options: Any = field(default_factory=NoOptions)


@dataclass(frozen=True)
class Method:
    name: str
    family: Literal["2D", "3D"]
    build: Callable[[BuildContext], nn.Module]
    options: type[BaseModel]
    description: str
    backbones: tuple[str, ...] | None = None
    """Backbones the method accepts, the first being its default; None: any registered 2D
    backbone (default resnet50). ('none',) for networks that are their own backbone."""
    min_frames: int = 1
    frames_per_segment: int = 1
    """Consecutive frames the network takes from each segment (PAN's m = 4): its input holds
    data.frames * frames_per_segment frames."""
    reconstructed: bool = False
    """True when the method is rebuilt from a description, without the authors' code."""


METHODS: dict[str, Method] = {}
BACKBONES: dict[str, Callable[[], nn.Module]] = {}


def register_method(name: str, *, family: Literal["2D", "3D"], description: str,
                    options: type[BaseModel] = NoOptions, backbones: tuple[str, ...] | None = None,
                    min_frames: int = 1, frames_per_segment: int = 1, reconstructed: bool = False):
    def decorator(build: Callable[[BuildContext], nn.Module]):
        if name in METHODS:
            raise ValueError(f"method '{name}' is registered twice")
        METHODS[name] = Method(name, family, build, options, description, backbones,
                               min_frames, frames_per_segment, reconstructed)
        return build

    return decorator


def register_backbone(name: str):
    def decorator(build: Callable[[], nn.Module]):
        BACKBONES[name] = build
        return build

    return decorator


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise UserError(unknown_name_message("method", name, METHODS))
    return METHODS[name]


DEFAULT_BACKBONE = "resnet50"


def default_backbone(method: Method) -> str:
    return method.backbones[0] if method.backbones else DEFAULT_BACKBONE


def accepted_backbones(method: Method) -> tuple[str, ...]:
    return method.backbones or tuple(BACKBONES)
