"""From a plan to a network, with pretrained weights loaded from local files only."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..core.errors import UserError
from ..core.tensor_files import read_tensors
from ..plan.plan import Plan
from .backbones.inception import IMAGENET_FILES
from .backbones.resnet import spread_rgb_kernels
from .reference_keys import without_wrappers
from .video3d import inflate_state_dict


def build_network(plan: Plan) -> nn.Module:
    """The untrained network of `plan` (pretrained backbone weights applied when asked),
    initialised from `train.seed` without touching the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(plan.spec.train.seed)
        model = plan.method.build(plan.build_context)
    if plan.spec.model.pretrained != "none":
        load_backbone_weights(model, plan.spec.model.pretrained, plan.backbone)
    return model


def imagenet_weights_path(backbone: str) -> Path:
    """torchvision's cache file for the backbone; nothing is downloaded."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    pattern = IMAGENET_FILES.get(backbone, f"{backbone}-*.pth")
    found = sorted(folder.glob(pattern))
    if not found:
        raise UserError(f"model.pretrained: 'imagenet' needs {backbone}'s ImageNet weights in "
                        f"{folder} ({pattern.replace('*', '<hash>')}); nothing is downloaded at run time. "
                        f"Copy the file there or give its path in model.pretrained")
    return found[-1]


def load_backbone_weights(model: nn.Module, pretrained: str, backbone: str) -> None:
    """Load a torchvision-style 2D ResNet state dict into the model's backbone: names inside
    temporal wrappers are matched, a widened conv1 gets the mean RGB kernel and 3D kernels
    are inflated (I3D); anything that still does not fit is a clear error."""
    path = imagenet_weights_path(backbone) if pretrained == "imagenet" else Path(pretrained)
    if not path.is_file():
        raise UserError(f"model.pretrained: weights file '{path}' not found")
    state = read_tensors(path, "model.pretrained takes a torchvision-style state dict of tensors")
    target = getattr(model, "backbone", model)
    own = target.state_dict()
    names = {without_wrappers(key): key for key in own}
    mapped = {names[key]: value for key, value in state.items() if key in names}
    if not mapped:
        raise UserError(f"model.pretrained: '{path}' shares no parameter names with {backbone}")
    first_conv, own_first = mapped.get("conv1.weight"), own.get("conv1.weight")
    if (first_conv is not None and own_first is not None and first_conv.ndim == own_first.ndim
            and first_conv.shape[1] == 3 != own_first.shape[1]):
        mapped["conv1.weight"] = spread_rgb_kernels(first_conv, own_first.shape[1])
    mapped = inflate_state_dict(mapped, target)
    wrong = [key for key, value in mapped.items() if own[key].shape != value.shape]
    if wrong:
        raise UserError(f"model.pretrained: '{path}' does not match {backbone}: wrong shapes for "
                        f"{', '.join(wrong[:5])}")
    # Keys the network does not have as such are passed on too: a module may consume them in
    # its own `_load_from_state_dict` (GST slices the ImageNet conv2 into its two paths).
    unmatched = {key: value for key, value in state.items() if key not in names}
    target.load_state_dict({**unmatched, **mapped}, strict=False)
