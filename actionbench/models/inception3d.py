"""I3D on InceptionV1 (Carreira & Zisserman, CVPR 2017) as IBM/action-recognition-pytorch builds
it (IBM@67cc96f:models/threed_models/i3d.py), inflated from our InceptionV1 backbone.

torchvision's GoogLeNet is turned into 3D layer by layer, so every parameter keeps the 2D
backbone's name (`conv1.conv`, `inception4b.branch3.1.bn`, ...): IBM's I3D checkpoints load
by name, and the ImageNet GoogLeNet file loads through the same inflation as the I3D-ResNets
(`video3d.inflate_state_dict`: kernels repeated along time, unscaled, as IBM's
`inflate_from_2d_model`). IBM's layout, which differs from the paper's in where time is
downsampled:

- conv1 7x7x7, stride (1, 2, 2) (the paper strides time here too); then a (1, 3, 3) max-pool
  of stride (1, 2, 2), padding (0, 1, 1).
- conv2 1x1x1, conv3 3x3x3; every Inception 3x3 conv (the "5x5" branch included, as in the
  paper's released code) becomes 3x3x3, 1x1 convs 1x1x1, and the branch pool a 3x3x3 max-pool.
- maxpool2, maxpool3 and maxpool4 are 3x3x3 max-pools of padding 1 and stride (t, 2, 2), with
  t = 1 by default (IBM's `--without_t_stride`, "i3d") or 2 with the I3D option
  `temporal_stride` ("i3d-tp-max").
- Head: spatial average per remaining time step, dropout and fc at each step, mean of the
  logits over time (IBM's head, our `SpatialPoolPerStep` + the shared consensus head).
- BatchNorm eps 1e-3 (torchvision's and IBM's); new convs kaiming-normal (fan_out), BN (1, 0),
  fc N(0, 0.001), as IBM initialises.

Input: IBM normalises InceptionV1 clips with mean = std = 0.5, the ImageNet weights' space;
the backbone's `transform_input` maps our ImageNet-normalised clips there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn
from torchvision.models.googlenet import BasicConv2d

from ..core.errors import UserError
from ..plan.registry import BuildContext, ContractInput, PublishedCost, Setting
from .backbones.inception import inception_v1
from .recognizer2d import recognizer_2d
from .reference_keys import IBM_COST

if TYPE_CHECKING:
    from .video3d import I3DOptions

DOWNSAMPLING_POOLS = ("maxpool2", "maxpool3", "maxpool4")


def inflate_conv(unit: BasicConv2d, time_kernel: int) -> None:
    """Conv2d + BN2d of one torchvision BasicConv2d -> Conv3d + BN3d, in place."""
    conv, bn = unit.conv, unit.bn
    unit.conv = nn.Conv3d(conv.in_channels, conv.out_channels, (time_kernel, *conv.kernel_size),
                          stride=(1, *conv.stride), padding=(time_kernel // 2, *conv.padding),
                          bias=False)
    nn.init.kaiming_normal_(unit.conv.weight, mode="fan_out", nonlinearity="relu")
    unit.bn = nn.BatchNorm3d(bn.num_features, eps=bn.eps, momentum=bn.momentum)


def inflate_inception_v1(time_stride: int) -> nn.Module:
    """torchvision's GoogLeNet (our inception_v1 backbone) in IBM's I3D layout."""
    from .video3d import SpatialPoolPerStep  # video3d.py imports this module

    net = inception_v1()
    for name, module in list(net.named_modules()):
        if isinstance(module, BasicConv2d):
            kernel = module.conv.kernel_size[0]
            inflate_conv(module, 7 if name == "conv1" else kernel)
        elif isinstance(module, nn.MaxPool2d) and name.endswith("branch4.0"):
            parent = net.get_submodule(name.rpartition(".")[0])
            parent[0] = nn.MaxPool3d(3, stride=1, padding=1, ceil_mode=True)
    net.maxpool1 = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
    for name in DOWNSAMPLING_POOLS:
        setattr(net, name, nn.MaxPool3d(3, stride=(time_stride, 2, 2), padding=1))
    net.avgpool = SpatialPoolPerStep()
    return net


def i3d_inception_v1(ctx: BuildContext) -> nn.Module:
    """`i3d` with backbone inception_v1; of the I3D options only `temporal_stride` applies."""
    options: I3DOptions = ctx.options
    if options.inflation != "full":
        raise UserError("model.options.inflation: I3D on inception_v1 has IBM's one layout "
                        "(every 3x3 conv inflated), so only 'full' applies")
    return recognizer_2d(ctx, inflate_inception_v1(2 if options.temporal_stride else 1),
                         stem=nn.Identity())


# Metadata for the registration of `i3d`, which accepts this backbone.

I3D_INCEPTION_PUBLISHED = (
    PublishedCost(Setting.of("inception_v1", 8, 224, 87, temporal_stride=True), IBM_COST,
                  gflops=21.4113536, params_m=12.376439, exact=True),
    PublishedCost(Setting.of("inception_v1", 32, 224, 200), IBM_COST + ", mini-Moments i3d-f32",
                  gflops=135.22632704, params_m=12.492264, exact=True,
                  note="mini-Moments' 200-class head"),
    PublishedCost(Setting.of("inception_v1", 8, 224, 87), IBM_COST, gflops=33.573614592,
                  params_m=12.376439,
                  note="IBM's mini-SSv2 and mini-Kinetics rows of this network lie 232,967,168 "
                       "multiply-adds below its code at every frame count (ours: 33.807 G), while "
                       "its mini-Moments f32 and f64 rows equal ours; see docs/methods/i3d_inception.md"),
)
I3D_INCEPTION_CONTRACT_INPUTS = (ContractInput.of("inception_v1"),
                                 ContractInput.of("inception_v1", frames=8, temporal_stride=True))
