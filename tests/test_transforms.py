"""Crop boxes and training crops: each rule pinned to its reference's formula with boxes worked
out by hand (docs/protocols.md, "Crops"), and today's rule to torchvision's own crops."""

from __future__ import annotations

import collections

import pytest
import torch
from torchvision.transforms import v2

from actionbench.data.crops import Box, crop_boxes, fixed_offsets, multiscale_sizes
from actionbench.data.transforms import (
    MultiScaleCrop,
    SpatialCrops,
    apply,
    eval_transform,
    train_transform,
)


def _corners(boxes: list[Box]) -> list[tuple[int, int]]:
    return [(box.top, box.left) for box in boxes]


def test_three_crops_on_341x256() -> None:
    # (W - 224) // 4 = 29, (H - 224) // 4 = 8: left, right, centre at 0, 4, 2 steps
    assert _corners(crop_boxes(256, 341, 224, 3, "tsm")) == [(16, 0), (16, 116), (16, 58)]
    assert _corners(crop_boxes(256, 341, 224, 3, "ibm")) == [(16, 0), (16, 116), (16, 58)]
    # ours reaches the right edge, 1 px further
    assert _corners(crop_boxes(256, 341, 224, 3, "edges")) == [(16, 0), (16, 58), (16, 117)]


def test_three_full_resolution_crops_on_455x256() -> None:
    # 256 crops: (455 - 256) // 4 = 49; ours: centre 99, right 199
    assert _corners(crop_boxes(256, 455, 256, 3, "tsm")) == [(0, 0), (0, 196), (0, 98)]
    assert _corners(crop_boxes(256, 455, 256, 3, "edges")) == [(0, 0), (0, 99), (0, 199)]


def test_three_crops_on_portrait_frames() -> None:
    # 256x341 (portrait), 256 crops: the width has no room, (341 - 256) // 4 = 21
    assert _corners(crop_boxes(341, 256, 256, 3, "tsm")) == [(42, 0)] * 3  # centre three times
    assert _corners(crop_boxes(341, 256, 256, 3, "ibm")) == [(0, 0), (84, 0), (42, 0)]
    assert _corners(crop_boxes(341, 256, 256, 3, "edges")) == [(0, 0), (42, 0), (85, 0)]
    # a 224 crop on the same frame: TSM still goes left/right, 2 * 8 px apart
    assert _corners(crop_boxes(341, 256, 224, 3, "tsm")) == [(58, 0), (58, 32), (58, 16)]


def test_ten_crops_on_341x256() -> None:
    corners = [(0, 0), (0, 116), (32, 0), (32, 116), (16, 58)]
    boxes = crop_boxes(256, 341, 224, 10, "tsm")
    assert boxes == [Box(top, left, mirrored) for top, left in corners for mirrored in (False, True)]
    assert crop_boxes(256, 341, 224, 10, "ibm") == boxes
    assert crop_boxes(256, 341, 224, 5, "tsm") == [Box(top, left) for top, left in corners]
    # torchvision's: true corners, centre at round(58.5) = 58, and the crops of the mirrored
    # frame, whose centre is 341 - 224 - 58 = 59 in this frame
    ours = crop_boxes(256, 341, 224, 10, "edges")
    assert _corners(ours) == [(0, 0), (0, 117), (32, 0), (32, 117), (16, 58),
                              (0, 117), (0, 0), (32, 117), (32, 0), (16, 59)]
    assert [box.mirrored for box in ours] == [False] * 5 + [True] * 5


@pytest.mark.parametrize("rule", ["edges", "tsm", "ibm"])
def test_one_crop_is_torchvision_centre_crop_for_every_rule(rule) -> None:
    assert crop_boxes(256, 341, 224, 1, rule) == [Box(16, 58)]  # round(58.5) is 58
    assert crop_boxes(256, 343, 224, 1, rule) == [Box(16, 60)]  # round(59.5) is 60


@pytest.mark.parametrize("height, width", [(256, 341), (341, 256), (256, 455), (257, 300)])
def test_edges_rule_is_today_s_torchvision_crops(height, width) -> None:
    video = torch.randint(0, 256, (2, 3, height, width), dtype=torch.uint8)
    assert torch.equal(SpatialCrops(224, 10)(video), torch.stack(v2.functional.ten_crop(video, [224])))
    assert torch.equal(SpatialCrops(224, 1)(video), v2.functional.center_crop(video, [224])[None])


def test_spatial_crops_cut_and_mirror_the_boxes() -> None:
    video = torch.arange(2 * 3 * 8 * 10, dtype=torch.uint8).view(2, 3, 8, 10)
    views = SpatialCrops(4, 10, "tsm")(video)  # steps (10 - 4) // 4 = 1, (8 - 4) // 4 = 1
    assert views.shape == (10, 2, 3, 4, 4)
    assert torch.equal(views[2], video[..., 0:4, 4:8])  # upper right: (0, 4 * 1)
    assert torch.equal(views[3], video[..., 0:4, 4:8].flip(-1))
    assert torch.equal(views[8], video[..., 2:6, 2:6])  # centre: (2 * 1, 2 * 1)


def test_crops_larger_than_the_frame_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        crop_boxes(200, 300, 224, 1, "tsm")


def test_eval_transform_resizes_the_short_side_then_crops() -> None:
    frames = torch.randint(0, 256, (3, 3, 240, 320), dtype=torch.uint8)
    views = apply(eval_transform(224, 256, 3, "tsm"), frames)
    assert views.shape == (3, 3, 3, 224, 224)  # 240x320 -> 256x341


def test_fixed_offsets_of_a_192x224_crop_on_341x256() -> None:
    # steps (256 - 192) // 4 = 16 and (341 - 224) // 4 = 29
    assert fixed_offsets(256, 341, 192, 224, more=True) == [
        (0, 0), (0, 116), (64, 0), (64, 116), (32, 58),
        (32, 0), (32, 116), (64, 58), (0, 58),
        (16, 29), (16, 87), (48, 29), (48, 87)]
    assert fixed_offsets(256, 341, 192, 224, more=False) == [(0, 0), (0, 116), (64, 0),
                                                             (64, 116), (32, 58)]


def test_multiscale_sizes() -> None:
    # short side 256: int(256 * s) = 256, 224, 192, 168; pairs at most one scale step apart
    assert multiscale_sizes(256, 341, 224) == [(256, 256), (256, 224), (224, 256), (224, 224),
                                               (224, 192), (192, 224), (192, 192), (192, 168),
                                               (168, 192), (168, 168)]
    # Something V1 frames are 100 px high: 100, 87, 75, 66, upsampled to 224 later
    assert {side for pair in multiscale_sizes(100, 176, 224) for side in pair} == {100, 87, 75, 66}
    # a side within 2 px of the input size is taken as the input size: 226 * .875 = 197.75
    assert multiscale_sizes(226, 300, 224)[0] == (224, 224)


def test_multiscale_crop_draws_every_size_and_position_uniformly() -> None:
    crop = MultiScaleCrop(224)
    torch.manual_seed(0)
    draws = collections.Counter(crop.draw(256, 341) for _ in range(10000))
    expected = collections.Counter(
        (top, left, height, width) for height, width in multiscale_sizes(256, 341, 224)
        for top, left in fixed_offsets(256, 341, height, width, more=True))
    assert set(draws) == set(expected)
    # each of the 130 (size, position) entries has probability 1/130; repeated entries add up
    for box, count in expected.items():
        assert abs(draws[box] / 10000 - count / 130) < 0.004


def test_multiscale_crop_cuts_the_drawn_box_and_resizes_it() -> None:
    video = torch.randint(0, 256, (2, 3, 256, 341), dtype=torch.uint8)
    torch.manual_seed(3)
    top, left, height, width = MultiScaleCrop(224).draw(256, 341)
    torch.manual_seed(3)
    out = MultiScaleCrop(224)(video)
    assert torch.equal(out, v2.functional.resized_crop(video, top, left, height, width, [224, 224],
                                                       antialias=True))


def test_ibm_scale_jitter_draws_short_sides_256_to_320() -> None:
    transform = train_transform(224, flip=False, crop="ibm_scale_jitter")
    resize = transform.transforms[0]
    torch.manual_seed(0)
    assert {resize.draw() for _ in range(2000)} == set(range(256, 321))
    frames = torch.zeros(1, 3, 240, 320, dtype=torch.uint8)
    torch.manual_seed(1)
    side = resize.draw()
    torch.manual_seed(1)
    assert resize(frames).shape[-2:] == (side, side * 320 // 240)
    assert apply(transform, frames).shape == (1, 3, 224, 224)


@pytest.mark.parametrize("crop", ["random_resized", "tsn_multiscale", "ibm_scale_jitter"])
def test_every_training_crop_gives_input_size_clips(crop) -> None:
    frames = torch.randint(0, 256, (4, 3, 100, 176), dtype=torch.uint8)
    clip = apply(train_transform(112, flip=True, crop=crop), frames)
    assert clip.shape == (4, 3, 112, 112)
