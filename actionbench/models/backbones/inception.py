"""The two Inception backbones of the seeds' papers, per frame, with their references' names.

- `inception_v1`: GoogLeNet as IBM/action-recognition-pytorch uses it for TSN, TAM and I3D
  (IBM@67cc96f:models/twod_models/inception_v1.py): torchvision's GoogLeNet without the
  auxiliary classifiers, parameters named as torchvision's (`conv1.conv`, `inception3a.
  branch2.1.bn`, ...), so torchvision's ImageNet file (googlenet-1378be20.pth) and IBM's
  checkpoints load by name. torchvision keeps the "5x5" branch as a 3x3 conv, and so does IBM.
  IBM feeds it pixels normalised with mean = std = 0.5 (`GoogLeNet.mean()`/`std()`, the space
  of the ImageNet weights); torchvision's `transform_input` maps our ImageNet-normalised input
  onto that space.
- `bn_inception`: Inception with batch normalisation (Ioffe & Szegedy, ICML 2015), the TSN
  paper's backbone (Wang et al., ECCV 2016, Sec. 4) in the version of TSM's repository
  (mit-han-lab/temporal-shift-module@1f6a834:archs/bn_inception.py, a port of the Caffe
  model). Its parameters keep that file's flat names (`conv1_7x7_s2`, `inception_3a_1x1_bn`,
  ...), so its ImageNet and Kinetics files and TSM-code checkpoints load by name. As there,
  the convs have biases, BatchNorm has eps 1e-5 and momentum 0.9 (the Caffe fraction copied
  as PyTorch's momentum: the running statistics follow the latest batches), and the input is
  Caffe's: BGR pixels in 0-255 minus (104, 117, 128), reached from ours by `InputSpace`. The
  final 7x7 average pool becomes a global one (the same at 224x224; it lets small clips run).

Both end, like torchvision's ResNets, in a global average pool and `fc`, which the 2D
recogniser replaces by its own head.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import GoogLeNet

from ...plan.registry import register_backbone
from ..input_space import InputSpace


@register_backbone("inception_v1", named_only=True)
def inception_v1(num_classes: int = 1000) -> GoogLeNet:
    """IBM's InceptionV1. The dropout before `fc` is removed: the recogniser's head has one."""
    model = GoogLeNet(num_classes=num_classes, aux_logits=False, transform_input=True,
                      init_weights=True)
    model.dropout = nn.Identity()
    return model


CAFFE_BGR_MEAN = (104.0, 117.0, 128.0)
"""TSM's bn_inception.py `pretrained_settings`: mean of the BGR 0-255 input, std 1."""

BN_INCEPTION_BLOCKS = (
    # name, in, 1x1, 3x3 reduce, 3x3, double 3x3 reduce, double 3x3, pool, pool proj, stride
    ("3a", 192, 64, 64, 64, 64, 96, "avg", 32, 1),
    ("3b", 256, 64, 64, 96, 64, 96, "avg", 64, 1),
    ("3c", 320, 0, 128, 160, 64, 96, "max", 0, 2),
    ("4a", 576, 224, 64, 96, 96, 128, "avg", 128, 1),
    ("4b", 576, 192, 96, 128, 96, 128, "avg", 128, 1),
    ("4c", 576, 160, 128, 160, 128, 160, "avg", 128, 1),
    ("4d", 608, 96, 128, 192, 160, 192, "avg", 128, 1),
    ("4e", 608, 0, 128, 192, 192, 256, "max", 0, 2),
    ("5a", 1056, 352, 192, 320, 160, 224, "avg", 128, 1),
    ("5b", 1024, 352, 192, 320, 192, 224, "max", 128, 1),
)
"""Widths of TSM's bn_inception.py; a stride-2 block has no 1x1 branch and passes the pooled
input through unprojected (0 above)."""

STEM = (("conv1_7x7_s2", 3, 64, 7, 2), ("conv2_3x3_reduce", 64, 64, 1, 1),
        ("conv2_3x3", 64, 192, 3, 1))
BLOCK_NAMES = ("2", *(f"inception_{row[0]}" for row in BN_INCEPTION_BLOCKS))
"""The units whose input TSM may shift (its mask skips unit 1, which reads the image)."""


class BNInception(nn.Module):
    """Per-frame BN-Inception. `temporal` maps a unit name of `BLOCK_NAMES` to a module run on
    that unit's input (TSM's shift); it has no parameters of its own, so names stay flat."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.input_space = InputSpace(CAFFE_BGR_MEAN, (1.0, 1.0, 1.0), scale=255.0, bgr=True)
        self.temporal = nn.ModuleDict()
        self.units: dict[str, list[list[str]]] = {}
        """Unit name -> its branches, each a list of conv names (or a pool's name)."""
        for name, cin, cout, kernel, stride in STEM:
            self._conv(name, cin, cout, kernel, stride)
        self.pool1_3x3_s2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.pool2_3x3_s2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for row in BN_INCEPTION_BLOCKS:
            self._block(*row)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1024, num_classes)

    def _conv(self, name: str, cin: int, cout: int, kernel: int, stride: int = 1) -> str:
        setattr(self, name, nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2))
        setattr(self, f"{name}_bn", nn.BatchNorm2d(cout, eps=1e-5, momentum=0.9))
        return name

    def _block(self, block: str, cin: int, c1x1: int, c3x3_reduce: int, c3x3: int,
               double_reduce: int, double: int, pool: str, pool_proj: int, stride: int) -> None:
        prefix = f"inception_{block}"
        conv = lambda suffix, i, o, k, s=1: self._conv(f"{prefix}_{suffix}", i, o, k, s)  # noqa: E731
        branches = []
        if c1x1:
            branches.append([conv("1x1", cin, c1x1, 1)])
        branches.append([conv("3x3_reduce", cin, c3x3_reduce, 1),
                         conv("3x3", c3x3_reduce, c3x3, 3, stride)])
        branches.append([conv("double_3x3_reduce", cin, double_reduce, 1),
                         conv("double_3x3_1", double_reduce, double, 3),
                         conv("double_3x3_2", double, double, 3, stride)])
        if stride == 2:
            pooling = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        elif pool == "max":
            pooling = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)
        else:
            pooling = nn.AvgPool2d(3, stride=1, padding=1, ceil_mode=True, count_include_pad=True)
        setattr(self, f"{prefix}_pool", pooling)
        pool_branch = [f"{prefix}_pool"]
        if pool_proj:
            pool_branch.append(conv("pool_proj", cin, pool_proj, 1))
        branches.append(pool_branch)
        self.units[prefix] = branches

    def _unit(self, name: str, x: torch.Tensor) -> torch.Tensor:
        module = getattr(self, name)
        if isinstance(module, nn.Conv2d):
            return torch.relu(getattr(self, f"{name}_bn")(module(x)))
        return module(x)

    def _run(self, unit: str, x: torch.Tensor) -> torch.Tensor:
        if unit in self.temporal:
            x = self.temporal[unit](x)
        if unit == "2":
            for name in ("conv2_3x3_reduce", "conv2_3x3", "pool2_3x3_s2"):
                x = self._unit(name, x)
            return x
        outputs = []
        for branch in self.units[unit]:
            y = x
            for name in branch:
                y = self._unit(name, y)
            outputs.append(y)
        return torch.cat(outputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_space(x)
        x = self._unit("pool1_3x3_s2", self._unit("conv1_7x7_s2", x))
        for unit in BLOCK_NAMES:
            x = self._run(unit, x)
        return self.fc(torch.flatten(self.global_pool(x), 1))


@register_backbone("bn_inception", named_only=True)
def bn_inception(num_classes: int = 1000) -> BNInception:
    return BNInception(num_classes)


INCEPTION_BACKBONES = ("inception_v1", "bn_inception")
IMAGENET_FILES = {"inception_v1": "googlenet-*.pth", "bn_inception": "BNInception-*.pth"}
"""File names of the ImageNet weights in torch hub's checkpoint folder: torchvision's GoogLeNet
file and TSM's BNInception-9baff57459f5a1744.pth (bn_inception.py `pretrained_settings`)."""
