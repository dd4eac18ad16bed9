"""One registry per kind of thing: methods and backbones, discoverable by name.

A method is a plain function decorated with `@register_method` in its own file under
`models/` (as timm's `@register_model`); it receives a `BuildContext` and returns an
`nn.Module` that maps normalised clips (N, C, T, H, W) to logits (N, classes). Everything
else the suite knows about the method is declared beside it, in the same decorator, the way
torchvision keeps `Weights.meta` next to a model: its published costs with their setting and
source, the checkpoint key layouts of the reference repositories it can load, the input of
its unit tests, where its classifier sits and its reference note under `docs/methods/`.

This module holds only the declarations, so the layers below the models (the plan, the
listing) can read an entry without importing a network; `actionbench.models` fills it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from ..core.errors import UserError, unknown_name_message

if TYPE_CHECKING:
    from torch import nn

Family = Literal["2D", "3D", "transformer"]
FAMILIES: dict[str, str] = {"2D": "2D CNN + temporal module", "3D": "3D CNN",
                            "transformer": "video transformer"}


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class BuildContext:
    """Everything a method needs to build its network: the plan's view for the models."""

    backbone: str
    num_classes: int
    frames: int
    dropout: float = 0.5
    options: Any = field(default_factory=NoOptions)
    input_size: int = 224
    """The square crop (data.input_size): networks with position tables are sized for it."""


@dataclass(frozen=True)
class Setting:
    """The input a published figure was measured at."""

    backbone: str
    frames: int
    input_size: int
    num_classes: int
    options: tuple[tuple[str, Any], ...] = ()
    """Method options that differ from the defaults, as (name, value) pairs."""

    @classmethod
    def of(cls, backbone: str, frames: int, input_size: int, num_classes: int,
           **options: Any) -> Setting:
        return cls(backbone, frames, input_size, num_classes, tuple(sorted(options.items())))

    def describe(self) -> str:
        options = "".join(f", {name}={value}" for name, value in self.options)
        backbone = "" if self.backbone == "none" else f"{self.backbone}, "
        return f"{backbone}{self.frames}×{self.input_size}², {self.num_classes} cls{options}"


@dataclass(frozen=True)
class PublishedCost:
    """A cost the method's authors (or the library that ships it) published, at `setting`.

    `exact`: the source gives an exact count (IBM's integers, torchvision's metadata), which
    ours must equal to 0.01 %; otherwise it is rounded as printed and ours must be within 1 %.
    """

    setting: Setting
    source: str
    """What a reader can open: paper and table, or repository@commit:file."""
    gflops: float | None = None
    params_m: float | None = None
    exact: bool = False
    note: str = ""
    """How the source counts, or why ours differs within the tolerance."""

    @property
    def tolerance(self) -> float:
        return 1e-4 if self.exact else 1e-2


@dataclass(frozen=True)
class KeyConvention:
    """How one repository names a method's parameters, as rename rules to ours.

    `rules` are (pattern, replacement) pairs applied in order with `re.sub` to each key (after
    DataParallel's `module.` is stripped); keys matching `unused` have no counterpart because
    the reference's forward never uses them, and are skipped. This is the method's checkpoint
    filter (timm's `checkpoint_filter_fn`), declared in the method's own file."""

    name: str
    rules: tuple[tuple[str, str], ...] = ()
    unused: tuple[str, ...] = ()

    def rename(self, key: str) -> str:
        for pattern, replacement in self.rules:
            key = re.sub(pattern, replacement, key)
        return key

    def is_unused(self, key: str) -> bool:
        return any(re.search(pattern, key) for pattern in self.unused)


OURS = KeyConvention("actionbench")
"""Our own checkpoints: every method loads them."""


@dataclass(frozen=True)
class ContractInput:
    """One small input the registry-wide contract test builds the method for (output shape,
    gradients reaching every parameter, frame-order sensitivity); a method lists one per
    variant of its options worth checking."""

    backbone: str = "resnet18"
    frames: int = 4
    size: int = 32
    options: tuple[tuple[str, Any], ...] = ()
    idle: tuple[str, ...] = ()
    """Parameters that get no gradient by design at this input (named, with the reason, where
    the method declares them): the contract expects exactly these to stay idle."""

    @classmethod
    def of(cls, backbone: str = "resnet18", frames: int = 4, size: int = 32,
           idle: tuple[str, ...] = (), **options: Any) -> ContractInput:
        return cls(backbone, frames, size, tuple(sorted(options.items())), idle)


@dataclass(frozen=True)
class Method:
    name: str
    family: Family
    build: Callable[[BuildContext], nn.Module]
    options: type[BaseModel]
    description: str
    docs: str
    """The method's reference note, e.g. docs/methods/tsm.md."""
    backbones: tuple[str, ...] | None = None
    """Backbones the method accepts, the first being its default; None: any registered 2D
    backbone (default resnet50). ('none',) for networks that are their own backbone."""
    min_frames: int = 1
    frames_per_segment: int = 1
    """Consecutive frames the network takes from each segment (PAN's m = 4): its input holds
    data.frames * frames_per_segment frames."""
    any_frames: bool = False
    """True when neither the weights nor a reshape depend on the clip length (TSN's per-frame
    network with a mean, 3D CNNs with global pooling, Swin3D's padded windows): such a network
    can be tested on more segments than it was trained on (eval.frames). TSM's shift, TAM,
    GST, ... are built for one segment count and refuse another; the registry's contract test
    holds every method to its flag."""
    any_size: bool = True
    """False when parameters are sized for the training crop (data.input_size): the position
    tables of TimeSformer, VideoMAE and MViT hold one entry per patch of that crop, so another
    test crop (eval.input_size) does not fit them. Networks that pool globally (every CNN here,
    Swin3D's padded windows with a relative bias per window offset) take any size; the
    registry's contract test holds every method to its flag."""
    reconstructed: bool = False
    """True when the method is rebuilt from a description, without the authors' code."""
    classifier: str = "head.fc"
    """Dotted name of the layer that produces the logits (its learning rate can differ)."""
    first_conv_lr_mult: float = 1.0
    """The lr multiplier of the network's first convolution under `train.param_policy` tsn or
    tsn_fc5 (its bias: twice it). TSN-derived code gives 5 where that conv reads another input
    than RGB: PAN's and MIE-Net's `Lite` modality, whose first conv is the PA layer's
    (zhang-can/PAN-PyTorch@2d96513b11cf:ops/models.py get_optim_policies)."""
    order_sensitive: bool = True
    """False for a network blind to frame order by design (TSN's average consensus)."""
    published: tuple[PublishedCost, ...] = ()
    checkpoints: tuple[KeyConvention, ...] = ()
    """Naming of the reference repositories whose released checkpoints load into it."""
    contract_inputs: tuple[ContractInput, ...] = (ContractInput(),)

    @property
    def default_backbone(self) -> str:
        return self.backbones[0] if self.backbones else DEFAULT_BACKBONE

    @property
    def accepted_backbones(self) -> tuple[str, ...]:
        return self.backbones or tuple(name for name in BACKBONES if name not in NAMED_ONLY)

    @property
    def key_conventions(self) -> tuple[KeyConvention, ...]:
        """Ours first, then every reference repository that released the method."""
        return (OURS, *self.checkpoints)


METHODS: dict[str, Method] = {}
BACKBONES: dict[str, Callable[[], nn.Module]] = {}
NAMED_ONLY: set[str] = set()
"""Backbones that only the methods naming them accept (an Inception has no ResNet blocks for
the generic temporal modules)."""
DEFAULT_BACKBONE = "resnet50"


def register_method(name: str, *, family: Family, description: str, docs: str,
                    options: type[BaseModel] = NoOptions, **metadata: Any):
    """Register the decorated builder under `name`; `metadata` are `Method`'s other fields."""

    def decorator(build: Callable[[BuildContext], nn.Module]):
        if name in METHODS:
            raise ValueError(f"method '{name}' is registered twice")
        METHODS[name] = Method(name, family, build, options, description, docs, **metadata)
        return build

    return decorator


def register_backbone(name: str, *, named_only: bool = False):
    def decorator(build: Callable[[], nn.Module]):
        BACKBONES[name] = build
        if named_only:
            NAMED_ONLY.add(name)
        return build

    return decorator


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise UserError(unknown_name_message("method", name, METHODS))
    return METHODS[name]
