"""mmaction2's key convention for methods that were already in the suite, checked by loading a
state dict made by mmaction2's own model code and comparing logits
(docs/methods/zoo_checkpoints.md). torchvision's video weights need none: `video3d.TORCHVISION`
(same names) was checked the same way.

- mmaction2 (`tsn`, `tsm`, `i3d` with `inflation: partial`): its ResNet and ResNet3d backbones
  are torchvision's networks built from mmcv ConvModules, so `layerX.Y.convN.conv` /
  `.convN.bn` are torchvision's `convN` / `bnN`, `downsample.conv` / `.bn` its `downsample.0` /
  `.1`; ResNetTSM wraps conv1 of each block as `conv1.net` (TSM's own wrapper name, ignored like
  ours); the classifier of TSNHead, TSMHead and I3DHead is `cls_head.fc_cls`. Its recognisers
  normalise with ImageNet's mean and std, as we do.

mmaction2's R(2+1)D is not covered: its released models are 34 layers deep with a factorised
stem of 83 intermediate channels (mmaction/models/common/conv2plus1d.py), while `r2plus1d` is
torchvision's 18-layer network with a 45-channel stem; no state dict of one fits the other.
"""

from __future__ import annotations

from ..plan.registry import KeyConvention

MMACTION2_RESNET_KEYS = KeyConvention("open-mmlab/mmaction2", rules=(
    (r"\.conv([123])(\.net)?\.conv\.", r".conv\1\2."),
    (r"\.conv([123])(\.net)?\.bn\.", r".bn\1\2."),
    (r"\.downsample\.conv\.", ".downsample.0."),
    (r"\.downsample\.bn\.", ".downsample.1."),
    (r"^cls_head\.fc_cls\.", "head.fc."),
))
"""mmaction2's Recognizer2D (ResNet, ResNetTSM) and Recognizer3D (ResNet3d) on ResNets."""
