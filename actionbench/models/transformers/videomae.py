"""VideoMAE's fine-tuning network (Tong, Song, Wang and Wang, "VideoMAE: Masked Autoencoders are
Data-Efficient Learners for Self-Supervised Video Pre-Training", NeurIPS 2022): a plain ViT-B/16
over 2x16x16 tubelets with joint space-time attention, as MCG-NJU/VideoMAE@14ef8d8:
modeling_finetune.py builds it (`vit_base_patch16_224`, run_class_finetuning.py's defaults:
mean pooling, head scaled by 0.001); docs/methods/videomae.md has the reference check. The
masked pre-training is not here: this is the network its checkpoints are fine-tuned and
evaluated with.

A Conv3d with kernel and stride (2, 16, 16) cuts the clip into tubelets; the fixed sinusoidal
position table of the reference (over the flattened t, h, w token index) is added; twelve
pre-norm blocks attend over all tokens at once; the mean token, LayerNorm-ed (`fc_norm`),
feeds the classifier. The table is a buffer outside the state dict, as in the reference, so
that a checkpoint carries only learned tensors; it is sized for the built input.
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
from .layers import Mlp, QVBiasAttention, init_vit_weights

PATCH, TUBELET = 16, 2
WIDTH, DEPTH, HEADS = 768, 12, 12
HEAD_INIT_SCALE = 0.001
"""run_class_finetuning.py --init_scale default: the new classifier starts near zero."""


class VideoMAEOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    drop_path: float = Field(0.1, ge=0, lt=1, description="stochastic depth of the last block, "
                             "rising linearly from 0 (run_class_finetuning.py --drop_path 0.1)")


def sinusoid_table(tokens: int, width: int) -> torch.Tensor:
    """(1, tokens, width): position p, channel j -> sin (even j) or cos (odd j) of
    p / 10000^(2 * (j // 2) / width), computed in float64 as the reference does with numpy."""
    position = torch.arange(tokens, dtype=torch.float64)[:, None]
    exponent = 2 * (torch.arange(width) // 2).to(torch.float64) / width
    angle = position / torch.pow(10000.0, exponent)
    table = torch.where(torch.arange(width) % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.to(torch.float32)[None]


class Tubelets(nn.Module):
    """(N, C, T, H, W) -> (N, T/2 * H/16 * W/16, width), tokens ordered (t, h, w)."""

    def __init__(self, width: int):
        super().__init__()
        self.proj = nn.Conv3d(3, width, (TUBELET, PATCH, PATCH), stride=(TUBELET, PATCH, PATCH))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Block(nn.Module):
    def __init__(self, width: int, heads: int, drop_path: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.attn = QVBiasAttention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = Mlp(width, 4 * width)
        self.drop_path = StochasticDepth(drop_path, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class VideoMAE(nn.Module):
    def __init__(self, num_classes: int, frames: int, input_size: int, dropout: float = 0.0,
                 drop_path: float = 0.1, width: int = WIDTH, depth: int = DEPTH,
                 heads: int = HEADS):
        super().__init__()
        self.patch_embed = Tubelets(width)
        tokens = frames // TUBELET * (input_size // PATCH) ** 2
        self.register_buffer("pos_embed", sinusoid_table(tokens, width), persistent=False)
        rates = torch.linspace(0, drop_path, depth, device="cpu").tolist()
        self.blocks = nn.Sequential(*(Block(width, heads, rate) for rate in rates))
        self.fc_norm = nn.LayerNorm(width, eps=1e-6)
        self.fc_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_classes)

        self.apply(init_vit_weights)
        with torch.no_grad():
            self.head.weight.mul_(HEAD_INIT_SCALE)
            self.head.bias.mul_(HEAD_INIT_SCALE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.patch_embed(x) + self.pos_embed)
        return self.head(self.fc_dropout(self.fc_norm(x.mean(dim=1))))


CHECKPOINTS = (
    KeyConvention("open-mmlab/mmaction2", rules=(
        (r"^backbone\.patch_embed\.projection\.", "patch_embed.proj."),
        (r"\.mlp\.layers\.0\.0\.", ".mlp.fc1."),
        (r"\.mlp\.layers\.1\.", ".mlp.fc2."),
        (r"^backbone\.", ""),
        (r"^cls_head\.fc_cls\.", "head."),
    ), unused=(r"^backbone\.pos_embed$",)),
)
"""VideoMAE's fine-tuned checkpoints hold the network under `model` (or DeepSpeed's `module`)
with our own names. mmaction2's `VisionTransformer` (mmaction/models/backbones/vit_mae.py)
renames the patch projection and the MLP layers, and saves the fixed sinusoid table as a
buffer, which we recompute instead (equal to within 4e-9: docs/methods/videomae.md)."""

PUBLISHED_SETTING = Setting.of("vit_b_16", 16, 224, 400)
PUBLISHED = (
    PublishedCost(PUBLISHED_SETTING, "Tong et al., NeurIPS 2022, Kinetics-400 comparison "
                  "(ViT-B, 16x224, 180 G x 5 x 3)", gflops=180, params_m=87,
                  note="unverified (the paper was not readable here); mmaction2's README, "
                       "read at its commit, prints the same figures"),
    PublishedCost(PUBLISHED_SETTING, "open-mmlab/mmaction2@4d6c934:configs/recognition/"
                  "videomae/README.md (ViT-B 16x4x1)", gflops=180, params_m=87),
)

CONTRACT_INPUT = ContractInput.of("vit_b_16", frames=4, size=16)
"""Two tubelets of one 16x16 patch: the smallest input on which attention sees time."""


@register_method("videomae", family="transformer", any_size=False, options=VideoMAEOptions,
                 backbones=("vit_b_16",), min_frames=TUBELET, docs="docs/methods/videomae.md",
                 classifier="head", published=PUBLISHED, checkpoints=CHECKPOINTS,
                 contract_inputs=(CONTRACT_INPUT,),
                 description="VideoMAE fine-tuning network: ViT-B/16 over 2x16x16 tubelets, "
                             "joint space-time attention (MCG-NJU/VideoMAE)")
def videomae(ctx: BuildContext) -> nn.Module:
    if ctx.frames % TUBELET:
        raise UserError(f"method 'videomae' cuts time into tubelets of {TUBELET} frames: "
                        f"data.frames must be even, got {ctx.frames}")
    if ctx.input_size < PATCH:
        raise UserError(f"method 'videomae' needs data.input_size of at least {PATCH} "
                        f"(one {PATCH}x{PATCH} patch), got {ctx.input_size}")
    return VideoMAE(ctx.num_classes, ctx.frames, ctx.input_size, ctx.dropout,
                    ctx.options.drop_path)
