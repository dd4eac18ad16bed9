"""S3D-ResNet: a ResNet whose 3x3 convs are separated into 1x3x3 (space) and 3x1x1 (time), as
IBM/action-recognition-pytorch defines it (IBM@67cc96f:models/threed_models/s3d_resnet.py), the
S3D factorisation of Xie et al. (ECCV 2018) on a ResNet.

Per block, each spatial 3x3 conv is followed by BN, ReLU and a temporal 3x1x1 conv with its own
BN (and ReLU, except before the residual sum of a BasicBlock): a Bottleneck is
conv1 1x1x1 -> conv2 1x3x3 -> conv2_t 3x1x1 -> conv3 1x1x1, a BasicBlock conv1 -> conv1_t ->
conv2 -> conv2_t. The stem is a full 3x7x7 conv (stride (1, 2, 2)) and a (1, 3, 3) max-pool; no
conv has a bias. By default time keeps its length (IBM's `--without_t_stride`, "s3d-resnet");
`temporal_stride` strides it by 2 wherever the ResNet strides space in layer2-4 (in the
temporal conv and the 1x1x1 shortcut: "s3d-resnet-tp"). Head: IBM's, the fc at every remaining
time step and the mean of the logits. Parameters keep IBM's names (torchvision's plus
`conv*_t`, `bn*_t`), so its checkpoints and, inflated, torchvision's ImageNet ResNets load.
Init as IBM: kaiming-normal (fan_out) convs, BN (1, 0), fc N(0, 0.001). Inputs are
ImageNet-normalised, as IBM's ResNets expect.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ..plan.registry import BuildContext, ContractInput, PublishedCost, Setting, register_method
from .recognizer2d import recognizer_2d
from .reference_keys import IBM, IBM_COST
from .video3d import SpatialPoolPerStep

LAYERS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3), "resnet50": (3, 4, 6, 3),
          "resnet101": (3, 4, 23, 3)}


class S3DResNetOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temporal_stride: bool = Field(False, description="IBM's '-tp': stride 2 in time with the "
                                  "spatial stride of layer2-4")


def spatial(cin: int, cout: int, stride: int = 1) -> nn.Conv3d:
    return nn.Conv3d(cin, cout, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False)


def temporal(channels: int, stride: int = 1) -> nn.Conv3d:
    return nn.Conv3d(channels, channels, (3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0),
                     bias=False)


class SeparableBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int, time_stride: int,
                 downsample: nn.Module | None):
        super().__init__()
        self.conv1, self.bn1 = spatial(cin, planes, stride), nn.BatchNorm3d(planes)
        self.conv1_t, self.bn1_t = temporal(planes, time_stride), nn.BatchNorm3d(planes)
        self.conv2, self.bn2 = spatial(planes, planes), nn.BatchNorm3d(planes)
        self.conv2_t, self.bn2_t = temporal(planes), nn.BatchNorm3d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn1_t(self.conv1_t(out)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn2_t(self.conv2_t(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class SeparableBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, time_stride: int,
                 downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2, self.bn2 = spatial(planes, planes, stride), nn.BatchNorm3d(planes)
        self.conv2_t, self.bn2_t = temporal(planes, time_stride), nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = torch.relu(self.bn2_t(self.conv2_t(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class S3DResNet(nn.Module):
    def __init__(self, backbone: str, time_stride: int, num_classes: int = 1000):
        super().__init__()
        block = SeparableBasicBlock if backbone in ("resnet18", "resnet34") else SeparableBottleneck
        self.conv1 = nn.Conv3d(3, 64, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.maxpool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        cin = 64
        for index, (planes, blocks) in enumerate(zip((64, 128, 256, 512), LAYERS[backbone])):
            stride = 1 if index == 0 else 2
            t_stride = time_stride if stride == 2 else 1
            cout = planes * block.expansion
            downsample = None
            if stride != 1 or cin != cout:
                downsample = nn.Sequential(
                    nn.Conv3d(cin, cout, 1, stride=(t_stride, stride, stride), bias=False),
                    nn.BatchNorm3d(cout))
            stage = [block(cin, planes, stride, t_stride, downsample)]
            stage += [block(cout, planes, 1, 1, None) for _ in range(1, blocks)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*stage))
            cin = cout
        self.avgpool = SpatialPoolPerStep()
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x))


@register_method("s3d_resnet", family="3D", options=S3DResNetOptions, backbones=tuple(LAYERS),
                 docs="docs/methods/s3d_resnet.md", checkpoints=(IBM,), any_frames=True,
                 contract_inputs=(ContractInput.of(frames=4),
                                  ContractInput.of("resnet50", frames=4, temporal_stride=True)),
                 published=tuple(
                     PublishedCost(Setting.of(backbone, 8, 224, 87, **options), IBM_COST,
                                   gflops=gflops, params_m=params, exact=True)
                     for backbone, options, gflops, params in (
                         ("resnet18", {}, 21.329215488, 15.425559),
                         ("resnet18", {"temporal_stride": True}, 12.125732864, 15.425559),
                         ("resnet50", {}, 39.517814784, 27.485079),
                         ("resnet50", {"temporal_stride": True}, 19.672203264, 27.485079))),
                 description="S3D-ResNet (IBM): ResNet with every 3x3 conv separated into 1x3x3 "
                             "+ 3x1x1, full 3x7x7 stem; per-step fc, mean over time")
def s3d_resnet(ctx: BuildContext) -> nn.Module:
    options: S3DResNetOptions = ctx.options
    return recognizer_2d(ctx, S3DResNet(ctx.backbone, 2 if options.temporal_stride else 1),
                         stem=nn.Identity())
