"""TSN (Wang et al., ECCV 2016) on a ResNet: per-frame 2D network, average consensus.

No temporal modelling at all, so it is blind to frame order: the baseline every other
method is measured against.
"""

from __future__ import annotations

from ..recognizer2d import recognizer_2d
from ..registry import register_method

register_method("tsn", family="2D", description="Temporal Segment Networks: per-frame ResNet, "
                "average consensus (order-blind baseline)")(recognizer_2d)
