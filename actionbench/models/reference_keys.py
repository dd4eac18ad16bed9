"""How the reference repositories name their parameters, as rename rules to ours.

A released checkpoint is useful only if its tensors land in the same places in our modules.
Each `KeyConvention` turns a reference key (after `module.` from DataParallel is stripped)
into our key with ordered regex substitutions; wrapper segments (their `.net.` around a shifted
or wrapped block, our `.layer.` around a wrapped conv) are ignored when keys are compared, so the
rules only name what truly differs. Keys a reference creates but never uses in forward (MIE-Net's
`conv_mask`, the PA layer's unused BasicConvs and its conv bias, which cancels in the frame
difference) are listed as `unused` and skipped.

Naming read from the reference code (sheet's commits):

- IBM/action-recognition-pytorch (TSN, TAM, I3D ResNets): torchvision names at the top level,
  `fc` for the classifier, TAM as `layerX.Y.tam.{prev,curr,next}_se.fc1` (or
  `tam.blending_layers.i.fc1` for other blending widths) on the block input.
- mit-han-lab/temporal-shift-module (TSN, TSM): `base_model.` + torchvision names, the shifted
  conv as `conv1.net`, the classifier `new_fc` (or `base_model.fc` without dropout).
- chenxuluo/GST-video: the same wrapper; 3D convs with a singleton time axis, the grouped conv as
  `conv2` (spatial part) and `Tconv` (temporal part).
- zhang-can/PAN-PyTorch: TSM's naming, `PA.shallow_conv` for the PA layer and the VAP head as
  `base_model.fc.{TES,pred}`.
- li-stu-998/MIE-Net: TSM's naming, blocks wrapped as `layerX.Y.net`, DPTAM as
  `layerX.Y.tlam.{p1_conv1,dptam}`, the AFM weights as `w`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class KeyConvention:
    name: str
    methods: tuple[str, ...]
    """Our methods whose checkpoints this repository released."""
    rules: tuple[tuple[str, str], ...]
    """(pattern, replacement) applied in order with `re.sub`."""
    unused: tuple[str, ...] = field(default=())
    """Patterns of reference keys that have no counterpart because forward never uses them."""

    def rename(self, key: str) -> str:
        for pattern, replacement in self.rules:
            key = re.sub(pattern, replacement, key)
        return key

    def is_unused(self, key: str) -> bool:
        return any(re.search(pattern, key) for pattern in self.unused)


OURS = KeyConvention("actionbench", methods=(), rules=())

TSN_WRAPPER_RULES = (
    (r"^new_fc\.", "head.fc."),
    (r"^base_model\.fc\.(weight|bias)$", r"head.fc.\1"),
    (r"^base_model\.", "backbone."),
)
"""TSM's `TSN` class, which GST, PAN and MIE-Net reuse: backbone in `base_model`, new `new_fc`."""

PA_RULES = ((r"^PA\.shallow_conv\.weight$", "stem.pa.conv.weight"),)
PA_UNUSED = (r"^PA\.shallow_conv\.bias$",)

REFERENCE_CONVENTIONS: tuple[KeyConvention, ...] = (
    KeyConvention("IBM/action-recognition-pytorch", methods=("tsn", "tam", "i3d"), rules=(
        (r"^fc\.", "head.fc."),
        (r"^(?!head\.)", "backbone."),
        (r"\.tam\.prev_se\.fc1\.", ".conv1.temporal.blend.0."),
        (r"\.tam\.curr_se\.fc1\.", ".conv1.temporal.blend.1."),
        (r"\.tam\.next_se\.fc1\.", ".conv1.temporal.blend.2."),
        (r"\.tam\.blending_layers\.(\d+)\.fc1\.", r".conv1.temporal.blend.\1."),
    )),
    KeyConvention("mit-han-lab/temporal-shift-module", methods=("tsn", "tsm"),
                  rules=TSN_WRAPPER_RULES),
    KeyConvention("chenxuluo/GST-video", methods=("gst",), rules=(
        *TSN_WRAPPER_RULES,
        (r"\.Tconv\.", ".conv2.temporal."),
        (r"(layer\d\.\d+)\.conv2\.weight$", r"\1.conv2.spatial.weight"),
    )),
    KeyConvention("zhang-can/PAN-PyTorch", methods=("pan",), rules=(
        *PA_RULES,
        (r"^base_model\.fc\.TES\.", "head.tes."),
        (r"^base_model\.fc\.pred\.", "head.fc."),
        *TSN_WRAPPER_RULES,
    ), unused=PA_UNUSED),
    KeyConvention("li-stu-998/MIE-Net", methods=("mienet", "dptam"), rules=(
        *PA_RULES,
        (r"^w$", "stem.modality_logits"),
        (r"\.tlam\.p1_conv1\.", ".conv2.temporal.context."),
        (r"\.tlam\.dptam\.", ".conv2.temporal.attention."),
        *TSN_WRAPPER_RULES,
    ), unused=(*PA_UNUSED, r"^PA\.conv[123]\.", r"\.tlam\.conv_mask\.")),
)


def conventions_for(method: str) -> list[KeyConvention]:
    """Ours first, then every reference repository that released `method`."""
    return [OURS, *(c for c in REFERENCE_CONVENTIONS if method in c.methods)]


def without_wrappers(key: str) -> str:
    """The key with wrapper segments removed: their `.net.` and our `.layer.`."""
    return re.sub(r"\.(?:net|layer)(?=\.)", "", key)
