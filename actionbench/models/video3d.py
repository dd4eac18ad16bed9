"""3D convolutional networks: I3D-ResNet, an inflated torchvision ResNet (docs/methods/i3d.md),
and torchvision's own video models R3D-18, MC3-18, R(2+1)D-18 and S3D (docs/methods/r3d.md,
mc3.md, r2plus1d.md, s3d.md).

All of them take normalised clips (N, C, T, H, W) and return logits (N, K); time is averaged
inside the network.

I3D-ResNet (`i3d`) is built by converting a torchvision 2D ResNet module by module (Conv2d ->
Conv3d, BatchNorm2d -> BatchNorm3d, MaxPool2d -> MaxPool3d, the global pool -> a spatial pool
per time step), so every parameter keeps torchvision's name and `inflate_state_dict` can load
ImageNet weights by repeating each 2D kernel along time. Two networks go by that name
(docs/methods/i3d.md#what-it-is):

- `inflation: full` (default), IBM/action-recognition-pytorch `i3d_resnet.py`: the stem becomes
  3x7x7 (temporal padding 1, stride (1, 2, 2)) followed by a (1, 3, 3) max-pool of stride
  (1, 2, 2); every 3x3 conv becomes 3x3x3 (temporal padding 1), 1x1 convs stay 1x1x1. Head:
  average over space only, dropout and fc at every remaining time step, mean of the logits over
  time. ResNet-50, 8 frames, 224^2: 64.18 G conv MACs, 46,339,607 params at 87 classes, the
  figures of IBM's benchmark_mini.md (ResNet-18: 43.22 G and 33,210,903, IBM's "i3d-resnet-18").
- `inflation: partial`, the non-local-paper I3D (mmaction2 `i3d_r50.py`): stem 5x7x7 with
  temporal stride 2, the stem max-pool strided 2 in time, a (2, 1, 1) max-pool of stride 2 after
  layer1 ("pool2"); conv1 of the blocks selected by `nonlocal_inflated` becomes 3x1x1 and every
  other conv keeps a temporal size of 1. mmaction2's 28.0 M params (K400) are reproduced
  (28,043,472). Its 43.5 G for 32 frames is matched at 256^2 (43.27 G here; 256 is its Kinetics
  test crop, so probably the input of that figure, an inference), not at 224^2 (33.13 G).
  Deviation: for BasicBlock ResNets (18/34) only conv1 of a selected block gets the 3x3x3
  kernel, where mmaction2 inflates both of its convs.
- `temporal_stride: true`: IBM's "-ts" variant, stride 2 in time wherever the ResNet strides in
  space inside layer2-4 (the strided 3x3 conv and the 1x1 downsample of each stage's first
  block): 29.46 G at 8 frames for ResNet-50. It applies to both inflations.

Inflation follows IBM's `inflate_from_2d_model`: 2D kernels are repeated along time WITHOUT the
1/T scaling of the I3D paper and of mmaction2. A static clip therefore gives conv outputs equal
to T_kernel times the 2D ones at interior frames, and a one-frame clip (all taps but the centre
one fall on the zero padding) gives exactly the 2D network's features. New Conv3d weights are
initialised kaiming-normal (fan_out, ReLU), BatchNorm3d to (1, 0) and the fc N(0, 0.001), as
IBM's code does.

torchvision models (`r3d`, `mc3`, `r2plus1d`, `s3d`) are built with weights=None and a
classifier for the dataset's classes, initialised as torchvision does (fc N(0, 0.01) for the
ResNets; PyTorch defaults for S3D's 1x1x1 classifier conv). The video ResNets get the run's
dropout between their global pool and fc, placed inside `avgpool` so that parameter names stay
torchvision's (Kinetics checkpoints load key for key); S3D takes it through its own `dropout`
argument, in front of its classifier conv. S3D ends with a (2, 7, 7) average pool and needs at
least 14 frames (torchvision's `min_temporal_size`); its pooling kernel is clipped to the
feature map (`ClippedAvgPool3d`), which changes nothing at 224^2 and lets it run on small clips.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torchvision.models.resnet import ResNet
from torchvision.models.video import (
    MC3_18_Weights,
    R2Plus1D_18_Weights,
    R3D_18_Weights,
    S3D_Weights,
    mc3_18,
    r2plus1d_18,
    r3d_18,
    s3d,
)

from ..core.errors import UserError
from ..plan.registry import (
    BuildContext,
    ContractInput,
    KeyConvention,
    PublishedCost,
    Setting,
    register_method,
)
from .inception3d import I3D_INCEPTION_CONTRACT_INPUTS, I3D_INCEPTION_PUBLISHED, i3d_inception_v1
from .insert import STAGES, selected_blocks
from .recognizer2d import build_resnet, recognizer_2d
from .reference_keys import IBM, IBM_COST
from .zoo_checkpoints import MMACTION2_RESNET_KEYS

# ---------------------------------------------------------------- I3D-ResNet


class I3DOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inflation: Literal["full", "partial"] = Field(
        "full", description="full: IBM's I3D, every 3x3 conv -> 3x3x3, no temporal downsampling; "
                            "partial: non-local-paper I3D, 3x1x1 conv1 in alternate blocks, "
                            "5x7x7 stem, time divided by 8 before layer2")
    temporal_stride: bool = Field(
        False, description="IBM's -ts variant: stride 2 in time with the spatial stride of "
                           "layer2-4")


PARTIAL_MIN_FRAMES = 5
"""The partial network halves time twice before pool2, whose (2, 1, 1) window needs 2 steps."""


def nonlocal_inflated(stage: str, index: int) -> bool:
    """mmaction2's inflate pattern ((1,1,1), (1,0,1,0), (1,0,1,0,1,0), (0,1,0)) for ResNet-50:
    every block of layer1, the even blocks of layer2-3 and the odd blocks of layer4, continued
    alternately for deeper ResNets."""
    if stage == "layer1":
        return True
    return index % 2 == (1 if stage == "layer4" else 0)


def time_kernels(resnet: ResNet, inflation: str) -> dict[nn.Module, int]:
    """Temporal kernel size of each 2D conv that gets one above 1."""
    if inflation == "full":
        return {m: 3 for m in resnet.modules()
                if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)}
    kernels = {resnet.conv1: 5}
    kernels.update({block.conv1: 3 for _, _, block in selected_blocks(resnet, nonlocal_inflated)})
    return kernels


def time_strides(resnet: ResNet, options: I3DOptions) -> dict[nn.Module, int]:
    """Temporal stride of each conv or pool that gets one above 1."""
    strides: dict[nn.Module, int] = {}
    if options.temporal_stride:
        strides.update({m: 2 for stage in STAGES for m in getattr(resnet, stage).modules()
                        if isinstance(m, nn.Conv2d) and m.stride == (2, 2)})
    if options.inflation == "partial":
        strides.update({resnet.conv1: 2, resnet.maxpool: 2})
    return strides


class SpatialPoolPerStep(nn.Module):
    """(N, C, T', H, W) -> (N*T', C): IBM's adaptive pool to (T', 1, 1), with time moved into the
    batch so that the shared AverageConsensusHead applies the fc at every time step and averages
    the logits over time, as IBM's head does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t = x.shape[:3]
        return x.mean(dim=(3, 4)).transpose(1, 2).reshape(n * t, c)


def to_3d(module: nn.Module, time_kernel: int, time_stride: int) -> nn.Module:
    """The 3D counterpart of one 2D layer of a torchvision ResNet (others are returned as is)."""
    if isinstance(module, nn.Conv2d):
        conv = nn.Conv3d(module.in_channels, module.out_channels,
                         (time_kernel, *module.kernel_size), stride=(time_stride, *module.stride),
                         padding=(time_kernel // 2, *module.padding),
                         dilation=(1, *module.dilation), groups=module.groups,
                         bias=module.bias is not None)
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        return conv
    if isinstance(module, nn.BatchNorm2d):
        return nn.BatchNorm3d(module.num_features, module.eps, module.momentum)
    if isinstance(module, nn.MaxPool2d):
        return nn.MaxPool3d((1, module.kernel_size, module.kernel_size),
                            stride=(time_stride, module.stride, module.stride),
                            padding=(0, module.padding, module.padding))
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return SpatialPoolPerStep()
    return module


def inflate_resnet(resnet: ResNet, options: I3DOptions) -> ResNet:
    """Turn a torchvision ResNet into I3D in place; parameter names do not change."""
    kernels, strides = time_kernels(resnet, options.inflation), time_strides(resnet, options)
    for name, module in list(resnet.named_modules()):
        new = to_3d(module, kernels.get(module, 1), strides.get(module, 1))
        if new is not module:
            parent, _, attribute = name.rpartition(".")
            setattr(resnet.get_submodule(parent), attribute, new)
    if options.inflation == "partial":
        resnet.layer1.append(nn.MaxPool3d((2, 1, 1), stride=(2, 1, 1)))
    return resnet


def inflate_state_dict(state_2d: Mapping[str, torch.Tensor], target: nn.Module
                       ) -> dict[str, torch.Tensor]:
    """A 2D ResNet state dict (e.g. torchvision's ImageNet weights) for the inflated `target`.

    Every 4D conv kernel whose 3D counterpart in `target` has the same (out, in, h, w) is
    repeated along time to that counterpart's temporal size, without dividing by it (IBM's
    `inflate_from_2d_model`); other tensors are kept as they are, and keys that `target` lacks
    (the 2D fc) are dropped, so `target.load_state_dict(...)` sees only its own names.
    """
    shapes = {key: value.shape for key, value in target.state_dict().items()}
    inflated = {}
    for key, value in state_2d.items():
        if key not in shapes:
            continue
        shape = shapes[key]
        if value.dim() == 4 and len(shape) == 5 and value.shape == shape[:2] + shape[3:]:
            value = value.unsqueeze(2).repeat(1, 1, shape[2], 1, 1)
        inflated[key] = value
    return inflated


@register_method(
    "i3d", family="3D", options=I3DOptions, docs="docs/methods/i3d.md", any_frames=True,
    backbones=("resnet50", "resnet18", "resnet34", "resnet101", "inception_v1"),
    description="I3D-ResNet: torchvision ResNet inflated to 3D (IBM's full 3x3x3 inflation by "
                "default), ImageNet kernels repeated along time",
    checkpoints=(IBM, MMACTION2_RESNET_KEYS),
    contract_inputs=(ContractInput.of(frames=5), ContractInput.of(frames=6, temporal_stride=True),
                 ContractInput.of(frames=6, inflation="partial"), *I3D_INCEPTION_CONTRACT_INPUTS),
    published=(
        PublishedCost(Setting.of("resnet50", 8, 224, 87), IBM_COST, gflops=64.180322304,
                      params_m=46.339607, exact=True),
        PublishedCost(Setting.of("resnet18", 8, 224, 87), IBM_COST, gflops=43.217190912,
                      params_m=33.210903, exact=True),
        PublishedCost(Setting.of("resnet50", 8, 224, 87, temporal_stride=True), IBM_COST,
                      gflops=29.460135936, params_m=46.339607, exact=True),
        PublishedCost(Setting.of("resnet50", 32, 256, 400, inflation="partial"),
                      "mmaction2 configs/recognition/i3d README, i3d_imagenet-pretrained-r50 "
                      "32x2x1", gflops=43.5, params_m=28.0,
                      note="rounded; matched at 256 px, mmaction2's Kinetics test crop"),
        *I3D_INCEPTION_PUBLISHED,
    ))
def i3d(ctx: BuildContext) -> nn.Module:
    if ctx.backbone == "inception_v1":
        return i3d_inception_v1(ctx)
    options: I3DOptions = ctx.options
    if options.inflation == "partial" and ctx.frames < PARTIAL_MIN_FRAMES:
        raise UserError(f"method 'i3d' with inflation 'partial' needs at least "
                        f"{PARTIAL_MIN_FRAMES} frames (data.frames), got {ctx.frames}")
    return recognizer_2d(ctx, inflate_resnet(build_resnet(ctx), options), stem=nn.Identity())


# ---------------------------------------------------------------- torchvision video models

TORCHVISION = KeyConvention("pytorch/vision")
"""torchvision's own names, which these networks keep (the dropout sits inside `avgpool`)."""


def torchvision_cost(weights, backbone: str, frames: int, size: int) -> PublishedCost:
    """torchvision's metadata of a video model's Kinetics-400 weights: multiply-adds (rounded
    to the third decimal, so exact for our purpose) and parameters, for `frames` x `size`^2
    clips, the input of torchvision's video classification reference."""
    meta = weights.DEFAULT.meta
    return PublishedCost(Setting.of(backbone, frames, size, 400),
                         f"torchvision {weights.__name__}.DEFAULT.meta (_ops, num_params)",
                         gflops=meta["_ops"], params_m=meta["num_params"] / 1e6, exact=True)


def video_resnet(factory):
    """A builder for one of torchvision's 18-layer video ResNets, dropout before its fc."""

    def build(ctx: BuildContext) -> nn.Module:
        model = factory(weights=None, num_classes=ctx.num_classes)
        model.avgpool = nn.Sequential(model.avgpool, nn.Dropout(ctx.dropout))
        return model

    return build


for _name, _factory, _weights, _description in (
    ("r3d", r3d_18, R3D_18_Weights, "R3D-18 (torchvision r3d_18): 3x3x3 convs throughout, time "
                                    "strided in layer2-4"),
    ("mc3", mc3_18, MC3_18_Weights, "MC3-18 (torchvision mc3_18): 3D convs in the stem and "
                                    "layer1, 1x3x3 after, no temporal downsampling after layer1"),
    ("r2plus1d", r2plus1d_18, R2Plus1D_18_Weights, "R(2+1)D-18 (torchvision r2plus1d_18): every "
                                                   "3x3x3 conv factored into 1x3x3 then 3x1x1"),
):
    register_method(_name, family="3D", backbones=("resnet18",), description=_description,
                    any_frames=True,
                    docs=f"docs/methods/{_name}.md", classifier="fc",
                    checkpoints=(TORCHVISION,),
                    published=(torchvision_cost(_weights, "resnet18", 16, 112),)
                    )(video_resnet(_factory))


class ClippedAvgPool3d(nn.Module):
    """torchvision's S3D pools its last features with a fixed (2, 7, 7) kernel, sized for
    224x224 inputs, and fails on smaller ones. Clipping the kernel to the feature map leaves
    every 224-px result unchanged and lets S3D run on small clips (the synthmotion smoke)."""

    def __init__(self, kernel_size: tuple[int, int, int]):
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = tuple(min(k, size) for k, size in zip(self.kernel_size, x.shape[2:]))
        return F.avg_pool3d(x, kernel, stride=1)


class S3DOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bn_momentum: float = Field(0.001, gt=0, le=1, description="BatchNorm running-statistics "
                               "momentum; torchvision's 0.001 (a TensorFlow port) needs thousands "
                               "of iterations before eval-mode outputs mean anything, so short "
                               "runs from scratch want PyTorch's usual 0.1")


@register_method("s3d", family="3D", backbones=("none",), min_frames=14, options=S3DOptions,
                 any_frames=True,
                 docs="docs/methods/s3d.md", classifier="classifier.1",
                 description="S3D (torchvision s3d): Inception-V1 with separable 1x3x3 + 3x1x1 "
                             "convs; needs at least 14 frames",
                 checkpoints=(TORCHVISION,),
                 published=(torchvision_cost(S3D_Weights, "none", 16, 224),),
                 contract_inputs=(ContractInput.of("none", frames=14),))
def s3d_(ctx: BuildContext) -> nn.Module:
    model = s3d(weights=None, num_classes=ctx.num_classes, dropout=ctx.dropout)
    model.avgpool = ClippedAvgPool3d(model.avgpool.kernel_size)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm3d):
            module.momentum = ctx.options.bn_momentum
    return model
