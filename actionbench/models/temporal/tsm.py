"""TSM: Temporal Shift Module (Lin, Gan, Han, ICCV 2019).

A zero-parameter, zero-FLOP shift of 1/`shift_div` of the channels one frame back and
1/`shift_div` one frame forward (boundaries zero-filled), placed by default on the residual
branch before conv1 of every block ("blockres", the paper's residual shift), so the identity
path keeps the unshifted features. For ResNets with 23 or more blocks in layer3 (ResNet-101)
the original code shifts every second block; we do the same.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ...plan.registry import BuildContext, ContractInput, PublishedCost, Setting, register_method
from ..inception2d import INCEPTION_CONTRACT_INPUTS, tsm_bn_inception
from ..insert import BlockFilter, insert_before, wrap_block
from ..recognizer2d import build_resnet, recognizer_2d
from ..reference_keys import TSM_REPOSITORY
from ..zoo_checkpoints import MMACTION2_RESNET_KEYS


class TSMOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shift_div: int = Field(8, ge=2, description="1/shift_div of the channels moves each way")
    place: Literal["blockres", "block"] = Field(
        "blockres", description="blockres: residual branch before conv1; block: whole block input")


def temporal_shift(x: torch.Tensor, frames: int, shift_div: int) -> torch.Tensor:
    nt, c, h, w = x.shape
    x = x.view(nt // frames, frames, c, h, w)
    fold = c // shift_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


class TemporalShift(nn.Module):
    def __init__(self, frames: int, shift_div: int = 8):
        super().__init__()
        self.frames = frames
        self.shift_div = shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return temporal_shift(x, self.frames, self.shift_div)

    def extra_repr(self) -> str:
        return f"frames={self.frames}, shift_div={self.shift_div}"


def shifted_blocks(resnet) -> BlockFilter:
    """The original code's n_round: every block, or every second one for very deep ResNets."""
    n_round = 2 if len(resnet.layer3) >= 23 else 1
    return lambda stage, index: index % n_round == 0


@register_method(
    "tsm", family="2D", options=TSMOptions, docs="docs/methods/tsm.md",
    description="Temporal Shift Module: residual shift of 1/8 channels each way",
    backbones=("resnet50", "resnet18", "resnet34", "resnet101", "bn_inception"),
    checkpoints=(TSM_REPOSITORY, MMACTION2_RESNET_KEYS),
    contract_inputs=(ContractInput(), *INCEPTION_CONTRACT_INPUTS["tsm"]),
    published=(PublishedCost(Setting.of("resnet50", 8, 224, 400),
                             "TSM (Lin et al., ICCV 2019), Table 1: TSM 8f", gflops=33, params_m=24.3,
                             note="rounded; the shift adds no parameters and no multiply-adds"),))
def tsm(ctx: BuildContext) -> nn.Module:
    if ctx.backbone == "bn_inception":
        return tsm_bn_inception(ctx)
    options: TSMOptions = ctx.options
    resnet = build_resnet(ctx)
    shift = lambda block: TemporalShift(ctx.frames, options.shift_div)  # noqa: E731
    if options.place == "blockres":
        insert_before(resnet, "conv1", shift, shifted_blocks(resnet))
    else:
        wrap_block(resnet, shift, shifted_blocks(resnet))
    return recognizer_2d(ctx, resnet)
