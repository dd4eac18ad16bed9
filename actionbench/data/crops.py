"""Where crops sit in a frame: the test-time boxes of each crop rule and the fixed positions of
TSN's multi-scale training crop.

The references place every crop at a multiple of the quarter steps ``(W - crop) // 4`` and
``(H - crop) // 4`` (TSN's ``fill_fix_offset``, in
mit-han-lab/temporal-shift-module@1f6a834:ops/transforms.py and its copies in
IBM/action-recognition-pytorch@67cc96f:utils/video_transforms.py and
chenxuluo/GST-video@47d39fc:transforms.py), so a right or centre crop is 1-3 px from the
frame's edge or exact centre whenever ``W - crop`` is not a multiple of 4. The rules:

- ``edges`` (ours, the default): centre crop at ``round((W - crop) / 2)``; 3 crops at the start,
  centre and end of the longer side; 10 crops as torchvision's ``ten_crop`` (the corners and
  the centre, then the five crops of the mirrored frame).
- ``tsm``: TSM's ``GroupFullResSample`` for 3 crops (left, right, centre at the middle quarter
  step of the height, whatever the frame's orientation: a portrait frame whose width equals the
  crop gets the centre crop three times) and ``GroupOverSample`` for 5 and 10 (each crop
  followed by its own mirror image).
- ``ibm``: as ``tsm``, except that 3 crops on a portrait frame go top, bottom, centre.

All rules take the centre crop for 1 crop, as torchvision's ``CenterCrop`` does in each
reference. docs/protocols.md works the boxes out for 341x256, 256x341 and 455x256 frames.
"""

from __future__ import annotations

from typing import NamedTuple

from ..plan.schema import CropRule

TSN_SCALES = (1.0, 0.875, 0.75, 0.66)
"""Crop sides relative to the frame's short side in TSN's multi-scale crop."""


class Box(NamedTuple):
    top: int
    left: int
    mirrored: bool = False
    """The crop is flipped left-right after cutting (the mirrored views of 10-crop testing)."""


def crop_boxes(height: int, width: int, size: int, crops: int, rule: CropRule) -> list[Box]:
    """The `crops` square boxes of side `size` on a height x width frame, in the order the rule's
    reference returns them."""
    if size > min(height, width):
        raise ValueError(f"crop_boxes: a {size}px crop does not fit a {width}x{height} frame")
    if crops == 1:
        return [centre_box(height, width, size)]
    if rule == "edges":
        return _edge_boxes(height, width, size, crops)
    h_step, w_step = (height - size) // 4, (width - size) // 4
    if crops == 3:
        if rule == "ibm" and width < height:
            quarters = [(0, 2), (4, 2), (2, 2)]  # top, bottom, centre
        else:
            quarters = [(2, 0), (2, 4), (2, 2)]  # left, right, centre
        return [Box(h * h_step, w * w_step) for h, w in quarters]
    corners = [Box(top, left) for top, left in fixed_offsets(height, width, size, size, more=False)]
    if crops == 5:
        return corners
    if crops == 10:
        return [box for corner in corners for box in (corner, corner._replace(mirrored=True))]
    raise ValueError(f"crop_boxes: crops must be 1, 3, 5 or 10, got {crops}")


def centre_box(height: int, width: int, size: int) -> Box:
    """torchvision's centre crop: Python's round, so a half pixel goes to the even side."""
    return Box(int(round((height - size) / 2.0)), int(round((width - size) / 2.0)))


def _edge_boxes(height: int, width: int, size: int, crops: int) -> list[Box]:
    centre = centre_box(height, width, size)
    if crops == 3:
        if width >= height:
            return [Box((height - size) // 2, left) for left in (0, (width - size) // 2, width - size)]
        return [Box(top, (width - size) // 2) for top in (0, (height - size) // 2, height - size)]
    bottom, right = height - size, width - size
    five = [Box(0, 0), Box(0, right), Box(bottom, 0), Box(bottom, right), centre]
    if crops == 5:
        return five
    if crops == 10:
        # The crops of the mirrored frame, as boxes of this frame that are flipped after cutting.
        return five + [Box(box.top, right - box.left, mirrored=True) for box in five]
    raise ValueError(f"crop_boxes: crops must be 1, 3, 5 or 10, got {crops}")


def fixed_offsets(height: int, width: int, crop_height: int, crop_width: int,
                  more: bool) -> list[tuple[int, int]]:
    """TSN's fixed crop positions as (top, left), in its order: the four corners and the centre,
    and with `more` (``more_fix_crop``) the four edge middles and the four quarter points. A
    position may repeat when a step is 0; the repeats are kept, since the training crop draws
    uniformly from this list."""
    h, w = (height - crop_height) // 4, (width - crop_width) // 4
    quarters = [(0, 0), (0, 4), (4, 0), (4, 4), (2, 2)]
    if more:
        quarters += [(2, 0), (2, 4), (4, 2), (0, 2), (1, 1), (1, 3), (3, 1), (3, 3)]
    return [(top * h, left * w) for top, left in quarters]


def multiscale_sizes(height: int, width: int, size: int, scales: tuple[float, ...] = TSN_SCALES,
                     max_distort: int = 1) -> list[tuple[int, int]]:
    """The (crop height, crop width) pairs TSN's multi-scale crop draws from, uniformly: each side
    is ``int(short side * scale)``, taken as `size` when within 2 px of it, and the two sides at
    most `max_distort` scale steps apart."""
    sides = [int(min(height, width) * scale) for scale in scales]
    sides = [size if abs(side - size) < 3 else side for side in sides]
    return [(crop_h, crop_w) for i, crop_h in enumerate(sides) for j, crop_w in enumerate(sides)
            if abs(i - j) <= max_distort]
