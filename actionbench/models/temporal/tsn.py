"""TSN (Wang et al., ECCV 2016) on a ResNet: per-frame 2D network, average consensus.

No temporal modelling at all, so it is blind to frame order: the baseline every other
method is measured against.
"""

from __future__ import annotations

from torch import nn

from ...plan.registry import BuildContext, ContractInput, PublishedCost, Setting, register_method
from ..inception2d import INCEPTION_CONTRACT_INPUTS, TSN_INCEPTION_PUBLISHED
from ..recognizer2d import FramesAsBatch, recognizer_2d
from ..reference_keys import IBM, IBM_COST, TSM_REPOSITORY
from ..zoo_checkpoints import MMACTION2_RESNET_KEYS


@register_method(
    "tsn", family="2D", docs="docs/methods/tsn.md", order_sensitive=False, any_frames=True,
    description="Temporal Segment Networks: per-frame ResNet, average consensus (order-blind "
                "baseline)",
    backbones=("resnet50", "resnet18", "resnet34", "resnet101", "inception_v1", "bn_inception"),
    checkpoints=(IBM, TSM_REPOSITORY, MMACTION2_RESNET_KEYS),
    contract_inputs=(ContractInput(), *INCEPTION_CONTRACT_INPUTS["tsn"]),
    published=(
        PublishedCost(Setting.of("resnet50", 8, 224, 87), IBM_COST, gflops=32.697090048,
                      params_m=23.686295, exact=True),
        PublishedCost(Setting.of("resnet18", 8, 224, 87), IBM_COST, gflops=14.508490752,
                      params_m=11.221143, exact=True),
        PublishedCost(Setting.of("resnet50", 8, 224, 400),
                      "TSM (Lin et al., ICCV 2019), Table 1: TSN 8f", gflops=33, params_m=24.3,
                      note="the paper's rounded figures, for a 400-class head"),
        *TSN_INCEPTION_PUBLISHED,
    ))
def tsn(ctx: BuildContext) -> nn.Module:
    """No module depends on the clip length, so the network takes any (TSM's Kinetics TSN
    trains 5 segments and tests 8)."""
    return recognizer_2d(ctx, stem=FramesAsBatch(None))
