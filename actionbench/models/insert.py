"""The one helper that puts a temporal module into torchvision's ResNet blocks.

Every 2D method differs only in *what* it inserts and *where*; this file owns the walking
over stages and blocks so the method files hold nothing but their module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

STAGES = ("layer1", "layer2", "layer3", "layer4")


class Before(nn.Module):
    """Runs `temporal` on the input of `layer`: the residual-branch placement used by TSM
    ("blockres") and IBM's TAM, which leaves the identity path untouched."""

    def __init__(self, temporal: nn.Module, layer: nn.Module):
        super().__init__()
        self.temporal = temporal
        self.layer = layer

    def forward(self, x):
        return self.layer(self.temporal(x))


BlockFilter = Callable[[str, int], bool]
"""(stage name, block index within the stage) -> whether the block gets a module."""


def every_block(stage: str, index: int) -> bool:
    return True


def selected_blocks(resnet: ResNet, every: BlockFilter = every_block
                    ) -> Iterator[tuple[nn.Sequential, int, BasicBlock | Bottleneck]]:
    """(stage, index, block) for each selected residual block, stage by stage."""
    for stage_name in STAGES:
        stage = getattr(resnet, stage_name)
        for index, block in enumerate(stage):
            if every(stage_name, index):
                yield stage, index, block


def replace_layer(resnet: ResNet, layer: str, make: Callable[[BasicBlock | Bottleneck], nn.Module],
                  every: BlockFilter = every_block) -> None:
    """Replace `block.<layer>` of each selected block by `make(block)` (which may reuse the old
    layer, still reachable as `getattr(block, layer)`): GST's and STM's conv2."""
    for _, _, block in selected_blocks(resnet, every):
        setattr(block, layer, make(block))


def insert_before(resnet: ResNet, layer: str, make: Callable[[BasicBlock | Bottleneck], nn.Module],
                  every: BlockFilter = every_block) -> None:
    """Put `make(block)` before `block.<layer>` of each selected block, on the residual branch.

    layer='conv1': at the block's input (TSM's residual shift, IBM's TAM); layer='conv2':
    after conv1 -> bn1 -> relu (TANet's TAM, DPTAM).
    """
    replace_layer(resnet, layer, lambda block: Before(make(block), getattr(block, layer)), every)


def wrap_block(resnet: ResNet, make: Callable[[BasicBlock | Bottleneck], nn.Module],
               every: BlockFilter = every_block) -> None:
    """Put `make(block)` before each selected block as a whole (identity path included)."""
    for stage, index, block in list(selected_blocks(resnet, every)):
        stage[index] = Before(make(block), block)
