"""How the reference repositories name their parameters: the rename rules that several
methods share, and the wrapper segments ignored when keys are compared.

A released checkpoint is useful only if its tensors land in the same places in our modules.
Each method declares, in its own file, the `KeyConvention`s of the repositories whose
checkpoints it loads (`register_method(..., checkpoints=...)`); the rules that more than one
method uses live here. Wrapper segments (their `.net.` around a shifted or wrapped block, our
`.layer.` around a wrapped conv) are ignored when keys are compared, so the rules only name
what truly differs.

Naming read from the reference code at the commits listed in docs/README.md#sources-read:

- IBM/action-recognition-pytorch (TSN, TAM, I3D ResNets): torchvision names at the top level,
  `fc` for the classifier, TAM as `layerX.Y.tam.{prev,curr,next}_se.fc1` (or
  `tam.blending_layers.i.fc1` for other blending widths) on the block input.
- mit-han-lab/temporal-shift-module (TSN, TSM): `base_model.` + torchvision names, the shifted
  conv as `conv1.net`, the classifier `new_fc` (or `base_model.fc` without dropout). GST-video,
  PAN-PyTorch and MIE-Net reuse this `TSN` wrapper class.
"""

from __future__ import annotations

import re

from ..plan.registry import KeyConvention

TSN_WRAPPER_RULES = (
    (r"^new_fc\.", "head.fc."),
    (r"^base_model\.fc\.(weight|bias)$", r"head.fc.\1"),
    (r"^base_model\.", "backbone."),
)
"""TSM's `TSN` class: backbone in `base_model`, the new classifier in `new_fc`."""

PA_RULES = ((r"^PA\.shallow_conv\.weight$", "stem.pa.conv.weight"),)
"""PAN's persistence-of-appearance layer, which MIE-Net reuses."""
PA_UNUSED = (r"^PA\.shallow_conv\.bias$",)
"""The PA conv's bias cancels in the frame difference, so forward never uses it."""

IBM = KeyConvention("IBM/action-recognition-pytorch", rules=(
    (r"^fc\.", "head.fc."),
    (r"^(?!head\.)", "backbone."),
    (r"\.tam\.prev_se\.fc1\.", ".conv1.temporal.blend.0."),
    (r"\.tam\.curr_se\.fc1\.", ".conv1.temporal.blend.1."),
    (r"\.tam\.next_se\.fc1\.", ".conv1.temporal.blend.2."),
    (r"\.tam\.blending_layers\.(\d+)\.fc1\.", r".conv1.temporal.blend.\1."),
))
IBM_COST = "IBM/action-recognition-pytorch@67cc96f:benchmark_mini.md (conv multiply-adds)"
"""IBM's table of exact multiply-adds and parameters (87-class mini-SSv2 heads)."""
TSM_REPOSITORY = KeyConvention("mit-han-lab/temporal-shift-module", rules=TSN_WRAPPER_RULES)


def without_wrappers(key: str) -> str:
    """The key with wrapper segments removed: their `.net.` and our `.layer.`."""
    return re.sub(r"\.(?:net|layer)(?=\.)", "", key)
