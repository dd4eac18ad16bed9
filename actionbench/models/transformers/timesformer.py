"""TimeSformer (Bertasius, Wang and Torresani, "Is Space-Time Attention All You Need for Video
Understanding?", ICML 2021): ViT-B/16 with divided space-time attention, as built by
facebookresearch/TimeSformer@a5ef29a:timesformer/models/vit.py (`TimeSformer`, attention type
`divided_space_time`); docs/methods/timesformer.md has the reference check.

Each frame is cut into 16x16 patches (a Conv2d shared by the frames) and a class token is
prepended. Every block attends first along time, between the patches at one position in the T
frames (its output goes through `temporal_fc`, zero-initialised in every block but the first,
so training starts close to the image ViT), then within each frame, with a copy of the class
token per frame whose T outputs are averaged, then applies the MLP. The class token of the last
LayerNorm feeds the classifier.

Parameter names are the reference's, so its released checkpoints (`model_state`, keys under
`model.`) and mmaction2's (`backbone.*`, `cls_head.fc_cls.*`) load through `CHECKPOINTS`.
At the reference initialisation the temporal position embedding is zero, and with it the
network is blind to frame order: temporal attention is permutation-equivariant and the class
token averages over frames; order becomes visible as `time_embed` learns.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torchvision.ops import StochasticDepth

from ...core.errors import UserError
from ...plan.registry import (
    BuildContext,
    ContractInput,
    KeyConvention,
    PublishedCost,
    Setting,
    register_method,
)
from .layers import Mlp, SelfAttention, init_vit_weights

PATCH = 16
WIDTH, DEPTH, HEADS = 768, 12, 12
"""ViT-B/16, the reference's `TimeSformer` class."""


class TimeSformerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    drop_path: float = Field(0.1, ge=0, lt=1, description="stochastic depth of the last block, "
                             "rising linearly from 0 (the reference's drop_path_rate 0.1)")


class FramePatches(nn.Module):
    """(N, C, T, H, W) -> (N*T, patches, width): each frame's 16x16 patches, embedded."""

    def __init__(self, width: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(3, width, patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.transpose(1, 2).flatten(0, 1)
        return self.proj(frames).flatten(2).transpose(1, 2)


class DividedSpaceTimeBlock(nn.Module):
    """Time attention, then space attention, then the MLP, on tokens ordered (class, then every
    position's T frames). Stochastic depth drops whole rows of each stage's own batch, as the
    reference's DropPath does: positions for the time stage, frames for the space stage."""

    def __init__(self, width: int, heads: int, drop_path: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = SelfAttention(width, heads)
        self.temporal_norm1 = nn.LayerNorm(width, eps=1e-6)
        self.temporal_attn = SelfAttention(width, heads)
        self.temporal_fc = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = Mlp(width, 4 * width)
        self.drop_path = StochasticDepth(drop_path, "row")

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        cls, patches = x[:, :1], x[:, 1:]
        batch, tokens, width = patches.shape
        positions = tokens // frames

        along_time = patches.reshape(batch * positions, frames, width)
        residual = self.drop_path(self.temporal_attn(self.temporal_norm1(along_time)))
        patches = patches + self.temporal_fc(residual.reshape(batch, tokens, width))

        per_frame = patches.reshape(batch, positions, frames, width).transpose(1, 2)
        per_frame = torch.cat((cls.repeat_interleave(frames, dim=0),
                               per_frame.reshape(batch * frames, positions, width)), dim=1)
        residual = self.drop_path(self.attn(self.norm1(per_frame)))
        cls_residual = residual[:, 0].reshape(batch, frames, width).mean(dim=1, keepdim=True)
        patch_residual = residual[:, 1:].reshape(batch, frames, positions, width).transpose(1, 2)
        x = torch.cat((cls + cls_residual, patches + patch_residual.reshape(batch, tokens, width)),
                      dim=1)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class TimeSformer(nn.Module):
    def __init__(self, num_classes: int, frames: int, input_size: int, dropout: float = 0.0,
                 drop_path: float = 0.1, width: int = WIDTH, depth: int = DEPTH,
                 heads: int = HEADS, patch: int = PATCH):
        super().__init__()
        positions = (input_size // patch) ** 2
        self.patch_embed = FramePatches(width, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, positions + 1, width))
        self.time_embed = nn.Parameter(torch.zeros(1, frames, width))
        rates = torch.linspace(0, drop_path, depth, device="cpu").tolist()
        self.blocks = nn.ModuleList(DividedSpaceTimeBlock(width, heads, rate) for rate in rates)
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_classes)

        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(init_vit_weights)
        for block in self.blocks[1:]:
            nn.init.zeros_(block.temporal_fc.weight)
            nn.init.zeros_(block.temporal_fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames = x.shape[0], x.shape[2]
        patches = self.patch_embed(x)
        tokens = torch.cat((self.cls_token.expand(patches.shape[0], -1, -1), patches), dim=1)
        tokens = tokens + self.pos_embed
        cls, patches = tokens[:batch, :1], tokens[:, 1:]
        width = patches.shape[-1]
        patches = patches.reshape(batch, frames, -1, width).transpose(1, 2) + self.time_embed[:, None]
        x = torch.cat((cls, patches.reshape(batch, -1, width)), dim=1)
        for block in self.blocks:
            x = block(x, frames)
        return self.head(self.dropout(self.norm(x)[:, 0]))


MMACTION2_LAYER = r"^backbone\.transformer_layers\.layers\.(\d+)\."
CHECKPOINTS = (
    KeyConvention("facebookresearch/TimeSformer", rules=((r"^model\.", ""),)),
    KeyConvention("open-mmlab/mmaction2", rules=(
        (MMACTION2_LAYER + r"attentions\.0\.norm\.", r"blocks.\1.temporal_norm1."),
        (MMACTION2_LAYER + r"attentions\.0\.attn\.in_proj_", r"blocks.\1.temporal_attn.qkv."),
        (MMACTION2_LAYER + r"attentions\.0\.attn\.out_proj\.", r"blocks.\1.temporal_attn.proj."),
        (MMACTION2_LAYER + r"attentions\.0\.temporal_fc\.", r"blocks.\1.temporal_fc."),
        (MMACTION2_LAYER + r"attentions\.1\.norm\.", r"blocks.\1.norm1."),
        (MMACTION2_LAYER + r"attentions\.1\.attn\.in_proj_", r"blocks.\1.attn.qkv."),
        (MMACTION2_LAYER + r"attentions\.1\.attn\.out_proj\.", r"blocks.\1.attn.proj."),
        (MMACTION2_LAYER + r"ffns\.0\.norm\.", r"blocks.\1.norm2."),
        (MMACTION2_LAYER + r"ffns\.0\.layers\.0\.0\.", r"blocks.\1.mlp.fc1."),
        (MMACTION2_LAYER + r"ffns\.0\.layers\.1\.", r"blocks.\1.mlp.fc2."),
        (r"^backbone\.patch_embed\.projection\.", "patch_embed.proj."),
        (r"^backbone\.", ""),
        (r"^cls_head\.fc_cls\.", "head."),
    )),
)
"""The reference's `.pyth` files hold the network under `model_state`, every key prefixed with
the `model.` of its wrapper class; mmaction2 (configs/recognition/timesformer) builds the same
network from nn.MultiheadAttention (`in_proj_*`, `out_proj`) and its FFN (`layers.0.0`,
`layers.1`)."""

PUBLISHED_SETTING = Setting.of("vit_b_16", 8, 224, 400)
PUBLISHED = (
    PublishedCost(PUBLISHED_SETTING, "Bertasius et al., ICML 2021, Kinetics-400 comparison "
                  "(0.59 TFLOPs, 1 clip x 3 crops)", gflops=590 / 3, params_m=121.4,
                  note="unverified (the paper was not readable here): its TFLOPs column is read "
                       "as views x per-view cost (SlowFast's 7.0 there is 234 G x 30 views), "
                       "so 196.7 G per view, as mmaction2's 196 G agrees"),
    PublishedCost(PUBLISHED_SETTING, "open-mmlab/mmaction2@4d6c934:configs/recognition/"
                  "timesformer/README.md (divST 8x32x1)", gflops=196, params_m=122),
)


@register_method("timesformer", family="transformer", any_size=False, options=TimeSformerOptions,
                 backbones=("vit_b_16",), docs="docs/methods/timesformer.md", classifier="head",
                 published=PUBLISHED, checkpoints=CHECKPOINTS,
                 contract_inputs=(ContractInput.of("vit_b_16", frames=4, size=32),),
                 description="TimeSformer: ViT-B/16 with divided space-time attention "
                             "(facebookresearch/TimeSformer)")
def timesformer(ctx: BuildContext) -> nn.Module:
    if ctx.input_size < PATCH:
        raise UserError(f"method 'timesformer' needs data.input_size of at least {PATCH} "
                        f"(one {PATCH}x{PATCH} patch), got {ctx.input_size}")
    return TimeSformer(ctx.num_classes, ctx.frames, ctx.input_size, ctx.dropout,
                       ctx.options.drop_path)
