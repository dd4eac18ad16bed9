"""TAM and TSM on the Inception backbones, with their references' insertion points.

An Inception network has no residual blocks, so the ResNet placements of `insert.py` (the
residual branch before conv1) do not exist; each reference put its module elsewhere:

- TAM on InceptionV1 (IBM@67cc96f:models/twod_models/inception_v1.py): after each of the
  twelve units, on the whole feature map: after conv1, conv2 and conv3 (`tam1`-`tam3`) and
  after every Inception block (`tam3a` ... `tam5b`). With `temporal_pool`, IBM's temporal max
  pooling follows maxpool2, maxpool3 and maxpool4 (`t_pool1`-`t_pool3`), halving T each time.
- TSM on BN-Inception (mit-han-lab/temporal-shift-module@1f6a834:archs/bn_inception.py,
  `build_temporal_ops` and `_temporal_forward_wrap`): a shift at the input of every unit but
  the first, which reads the image. Its residual form adds the unit's output to its input,
  which an Inception block (it changes the width) cannot do, so only `place: block` exists
  there; TSM's own code fails the same way with its default `blockres`.

TSN needs nothing here: the 2D recogniser takes any backbone ending in `fc`.

Key layout: our wrapper `Then` keeps a unit's parameters under `<unit>.layer.` (ignored when
names are compared, see reference_keys.without_wrappers) and puts TAM at `<unit>.temporal.`;
IBM's `tamN.{prev,curr,next}_se.fc1` is our `<unit>.temporal.blend.{0,1,2}` (the ResNet TAM's
names, `temporal/tam.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

from ..core.errors import UserError
from ..plan.registry import BuildContext, ContractInput, KeyConvention, PublishedCost, Setting
from .backbones.inception import BLOCK_NAMES, BNInception, inception_v1
from .recognizer2d import recognizer_2d
from .reference_keys import IBM_COST

if TYPE_CHECKING:
    from .temporal.tam import TAMOptions
    from .temporal.tsm import TSMOptions

INCEPTION_V1_UNITS = (
    # unit, output channels, temporal pool before it (IBM's t_pool1-3 follow maxpool2-4)
    ("conv1", 64, None), ("conv2", 64, None), ("conv3", 192, None),
    ("inception3a", 256, "maxpool2"), ("inception3b", 480, None),
    ("inception4a", 512, "maxpool3"), ("inception4b", 512, None), ("inception4c", 512, None),
    ("inception4d", 528, None), ("inception4e", 832, None),
    ("inception5a", 832, "maxpool4"), ("inception5b", 1024, None),
)


class Then(nn.Module):
    """Runs `temporal` on the output of `layer`: TAM after an Inception unit (IBM)."""

    def __init__(self, layer: nn.Module, temporal: nn.Module):
        super().__init__()
        self.layer = layer
        self.temporal = temporal

    def forward(self, x):
        return self.temporal(self.layer(x))


def tam_inception_v1(ctx: BuildContext) -> nn.Module:
    """IBM's TAM-InceptionV1 ("TAM-b3-sum-inception-v1", "-tp" with temporal pooling)."""
    from .temporal.tam import TAM, TemporalMaxPool, pooled_frames  # tam.py imports this module

    options: TAMOptions = ctx.options
    backbone = inception_v1()
    frames = ctx.frames
    for unit, channels, pool in INCEPTION_V1_UNITS:
        if pool and options.temporal_pool:
            setattr(backbone, pool, Then(getattr(backbone, pool), TemporalMaxPool(frames)))
            frames = pooled_frames(frames)
        tam = TAM(frames, channels, options.blending_frames, options.blending_method,
                  options.dw_conv)
        setattr(backbone, unit, Then(getattr(backbone, unit), tam))
    return recognizer_2d(ctx, backbone)


def tsm_bn_inception(ctx: BuildContext) -> nn.Module:
    """TSM's TSM-BNInception: a shift at the input of units 2-12."""
    from .temporal.tsm import TemporalShift  # tsm.py imports this module

    options: TSMOptions = ctx.options
    if options.place != "block":
        raise UserError("model.options.place: TSM on bn_inception shifts at the input of each "
                        "Inception block ('block'); the residual shift 'blockres' needs blocks "
                        "whose output has their input's width")
    backbone = BNInception()
    for unit in BLOCK_NAMES:
        backbone.temporal[unit] = TemporalShift(ctx.frames, options.shift_div)
    return recognizer_2d(ctx, backbone)


IBM_INCEPTION_TAM_KEYS = KeyConvention("IBM/action-recognition-pytorch (InceptionV1)", rules=(
        (r"^fc\.", "head.fc."),
        (r"^tam([123])\.", r"backbone.conv\1.temporal."),
        (r"^tam(\d[a-e])\.", r"backbone.inception\1.temporal."),
        (r"^(?!head\.|backbone\.)", "backbone."),
        (r"\.temporal\.prev_se\.fc1\.", ".temporal.blend.0."),
        (r"\.temporal\.curr_se\.fc1\.", ".temporal.blend.1."),
        (r"\.temporal\.next_se\.fc1\.", ".temporal.blend.2."),
        (r"\.temporal\.blending_layers\.(\d+)\.fc1\.", r".temporal.blend.\1."),
    ))
"""IBM's TAM-InceptionV1 checkpoints (`tam3a.prev_se.fc1.weight`, ...). IBM's TSN and I3D
on InceptionV1 need no convention of their own: their keys are torchvision's names plus `fc`,
which IBM's ResNet convention (reference_keys.py) already maps."""


# Metadata for the registrations of `tsn`, `tam` and `tsm`, which accept these backbones.

TSN_INCEPTION_PUBLISHED = (
    PublishedCost(Setting.of("inception_v1", 8, 224, 87), IBM_COST, gflops=11.978817536,
                  params_m=5.689079, exact=True),
    PublishedCost(Setting.of("bn_inception", 8, 224, 400),
                  "TSM (Lin et al., ICCV 2019), Table 2: TSN BNInception 8f", params_m=10.7,
                  note="a 400-class head, as for the paper's TSN ResNet-50 (174 classes: 10.45 M); "
                       "its rounded 16 G is 16.25 G here (16.26 G at 400 classes)"),
)
TAM_INCEPTION_PUBLISHED = (
    PublishedCost(Setting.of("inception_v1", 8, 224, 87), IBM_COST, gflops=12.04700672,
                  params_m=5.706503, exact=True),
    PublishedCost(Setting.of("inception_v1", 8, 224, 87, temporal_pool=True), IBM_COST,
                  gflops=6.570863936, params_m=5.706503, exact=True),
)
INCEPTION_CONTRACT_INPUTS = {
    "tsn": (ContractInput.of("inception_v1"), ContractInput.of("bn_inception")),
    # 16 frames with temporal_pool: three poolings leave 2 time steps at inception5, where the
    # blending's outer taps see a neighbour (at 8 frames one step is left, and they see padding).
    "tam": (ContractInput.of("inception_v1"), ContractInput.of("inception_v1", frames=16,
                                                               temporal_pool=True)),
    "tsm": (ContractInput.of("bn_inception", place="block"),),
}
