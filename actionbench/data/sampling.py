"""Which frames of a video make up a clip: TSN segment sampling, dense windows, and the rules
by which each reference repository draws training clips and places test clips.

Segment sampling cuts the video into `segments` equal parts and takes one frame from each, so
a clip spans the whole video whatever its length; that is what lets a 2D backbone with
temporal modules (TSM, TSN, ...) see the full action. Dense sampling takes `frames` frames
`stride` apart in one window (I3D, non-local). Offsets are 0-based within the video; the
dataset adds `VideoRecord.start`.

Our own rules (`train_rule="tile"`, `test_rule="even"`) are the defaults. The references'
rules are selectable, each written from the reference's code and pinned to it in
docs/protocols.md ("Frame indices"):

- train `tsm`: TSM's and GST's integer-length segments, one independent draw in each
  (mit-han-lab/temporal-shift-module@1f6a834:ops/dataset.py `_sample_indices`,
  chenxuluo/GST-video@47d39fc:dataset.py); dense: a window start drawn over
  ``[0, n - frames * stride)``.
- train `ibm`: one random offset shared by every segment (IBM/action-recognition-pytorch@67cc96f:
  utils/video_dataset.py `_sample_indices`); dense: as `tsm`, which IBM's `random_clip` equals.
- test `even`: clip k at relative position (k + 1/2) / clips in each segment; its one-clip
  case is TSM's test centre (ops/dataset.py `_get_test_indices`).
- test `tsm_twice`: TSM's ``--twice_sample``, the segment centres, then the segment starts.
- test `ibm_offsets`: IBM's ``--num_clips``: the centre shifted by whole frames.
- test `tsn_val`: the validation loader of TSM's, GST's, PAN's and MIE-Net's ``main.py``: the
  centre, and the first frame everywhere when the video is not longer than the clip.
- test `linspace` (dense): TSM's and IBM's windows, floor-rounded evenly spaced starts over
  ``n - frames * stride + 1`` positions; one clip is the first window (IBM).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..plan.protocol import rule_problem
from ..plan.schema import TestRule, TrainRule


def segment_indices(num_frames: int, segments: int, *, train: bool,
                    rng: random.Random | None = None) -> list[int]:
    """One clip: a random frame per segment for training, the centre frames for testing.

    Training segments are ``[i * n // s, (i + 1) * n // s)`` in integer arithmetic, so they
    tile the whole video (TSM's integer segment length can leave the last frames unused). An
    empty segment, which only happens when ``num_frames < segments``, takes its start frame.
    Testing computes ``int(seg_len * i + seg_len / 2)`` with a float ``seg_len``, TSM's test
    formula; videos shorter than `segments` then repeat frames but still ascend and cover the
    video, instead of TSM's validation fallback to frame 0 (`tsn_val_indices`).
    """
    _check(num_frames, segments, 1)
    if not train:
        return _positions(num_frames, segments, 0.5)
    _need_rng(rng, "segment_indices")
    indices = []
    for i in range(segments):
        low, high = i * num_frames // segments, (i + 1) * num_frames // segments
        indices.append(low + rng.randrange(max(high - low, 1)))
    return indices


def test_clip_indices(num_frames: int, segments: int, clips: int) -> list[list[int]]:
    """`clips` deterministic clips for multi-view testing; clip k samples each segment at
    relative position (k + 0.5) / clips, so the clips interleave evenly and clips=1 is the
    centre sampling of `segment_indices`."""
    _check(num_frames, segments, clips)
    return [_positions(num_frames, segments, (k + 0.5) / clips) for k in range(clips)]


def tsm_segment_indices(num_frames: int, segments: int, new_length: int,
                        rng: random.Random) -> list[int]:
    """TSM's and GST's training draw: segments of ``(n - new_length + 1) // segments`` frames
    with one independent draw in each (the last ``(n - new_length + 1) % segments`` frames are
    never drawn); a video with fewer start positions than segments but more frames than
    segments gets sorted draws with replacement over all its starts; any other one frame 0.
    Returns run starts: the video's `new_length` consecutive frames begin at each."""
    _check(num_frames, segments, 1)
    _need_rng(rng, "tsm_segment_indices")
    starts = max(num_frames - new_length + 1, 1)
    length = starts // segments
    if length > 0:
        return [i * length + rng.randrange(length) for i in range(segments)]
    if num_frames > segments:
        return sorted(rng.randrange(starts) for _ in range(segments))
    return [0] * segments


def ibm_segment_indices(num_frames: int, segments: int, rng: random.Random) -> list[int]:
    """IBM's training draw (one frame per group): segments of ``n // segments`` frames and one
    offset drawn once and used in every segment, so the clip is evenly spaced; a video shorter
    than `segments` gets sorted draws with replacement."""
    _check(num_frames, segments, 1)
    _need_rng(rng, "ibm_segment_indices")
    length = num_frames // segments
    if length > 0:
        offset = rng.randrange(length)
        return [i * length + offset for i in range(segments)]
    return sorted(rng.randrange(num_frames) for _ in range(segments))


def tsm_twice_indices(num_frames: int, segments: int) -> list[list[int]]:
    """TSM's ``--twice_sample``: the segment centres (relative position 1/2), then the segment
    starts (position 0), with TSM's float segment length."""
    _check(num_frames, segments, 1)
    return [_positions(num_frames, segments, 0.5), _positions(num_frames, segments, 0.0)]


def ibm_offset_indices(num_frames: int, segments: int, clips: int) -> list[list[int]]:
    """IBM's ``--num_clips`` test clips: the segment centres shifted by the whole frames
    ``range(-clips // 2 + 1, clips // 2 + 1)`` (Python's floor division: 0 for one clip, 0, 1
    for two, -1, 0, 1 for three), each shift clamped into half a segment on either side.

    A video with no more frames than segments has no centre to shift: IBM draws each clip with
    replacement from numpy's generator seeded with the clip's position, which is reproduced
    here with the same legacy generator, so the same frames come out.
    """
    _check(num_frames, segments, clips)
    shifts = range(-clips // 2 + 1, clips // 2 + 1)
    if num_frames <= segments:
        return [sorted(int(index) for index in np.random.RandomState(k).choice(num_frames, segments))
                for k in range(clips)]
    tick = num_frames / float(segments)
    views = []
    for shift in shifts:
        if shift >= tick / 2.0:
            shift = tick / 2.0 - 1e-4
        elif shift < -tick / 2.0:
            shift = -tick / 2.0
        views.append([int(tick / 2.0 + shift + tick * x) for x in range(segments)])
    return views


def tsn_val_indices(num_frames: int, segments: int, new_length: int) -> list[int]:
    """The validation clip of TSM's, GST's, PAN's and MIE-Net's ``main.py``: the centre run
    starts when the video has more than ``segments + new_length - 1`` frames, frame 0 for every
    segment otherwise."""
    _check(num_frames, segments, 1)
    if num_frames > segments + new_length - 1:
        return _positions(num_frames - new_length + 1, segments, 0.5)
    return [0] * segments


def _positions(num_frames: int, segments: int, position: float) -> list[int]:
    seg_len = num_frames / segments
    return [int(seg_len * i + seg_len * position) for i in range(segments)]


def _check(num_frames: int, segments: int, clips: int) -> None:
    if num_frames < 1 or segments < 1 or clips < 1:
        raise ValueError(f"sampling needs num_frames, segments and clips >= 1, got "
                         f"num_frames={num_frames}, segments={segments}, clips={clips}")


def _need_rng(rng: random.Random | None, caller: str) -> None:
    if rng is None:
        raise ValueError(f"{caller}: training needs an rng, so sampling is reproducible")


def start_range(num_frames: int, length: int) -> int:
    """How many frames can start a run of `length` consecutive frames (at least 1)."""
    return max(num_frames - length + 1, 1)


def consecutive(starts: list[int], length: int, num_frames: int) -> list[int]:
    """`length` consecutive frames from each start (PAN and MIE-Net read m = 4 frames per
    segment, TSN's `new_length`); videos shorter than `length` repeat their last frame.
    Sample the starts over `start_range(num_frames, length)` frames so whole runs fit."""
    return [min(start + step, num_frames - 1) for start in starts for step in range(length)]


def dense_indices(num_frames: int, frames: int, stride: int, *, train: bool,
                  rng: random.Random | None = None) -> list[int]:
    """`frames` frames `stride` apart in one window: a random window for training, the
    centre one for testing (I3D / non-local / TSM's Kinetics "dense" sampling). The window's
    first and last frames must fit, ``(frames - 1) * stride + 1`` frames; videos shorter than
    that wrap around, as TSM's dense sampler does."""
    _check(num_frames, frames, 1)
    room = max(num_frames - (frames - 1) * stride - 1, 0)
    if train:
        _need_rng(rng, "dense_indices")
    start = rng.randint(0, room) if train else room // 2
    return _window(start, frames, stride, num_frames)


def dense_test_clips(num_frames: int, frames: int, stride: int, clips: int) -> list[list[int]]:
    """`clips` windows with evenly spaced, rounded starts over the video."""
    _check(num_frames, frames, clips)
    room = max(num_frames - (frames - 1) * stride - 1, 0)
    starts = [round(room * k / (clips - 1)) if clips > 1 else room // 2 for k in range(clips)]
    return [_window(start, frames, stride, num_frames) for start in starts]


def window_train_indices(num_frames: int, frames: int, stride: int, rng: random.Random) -> list[int]:
    """TSM's and IBM's dense training window: a window of ``frames * stride`` frames (64 for
    8 x 8) whose start is drawn from ``[0, n - frames * stride)``, frame 0 when the video is
    not longer than the window; indices wrap around the video."""
    _check(num_frames, frames, 1)
    _need_rng(rng, "window_train_indices")
    room = num_frames - frames * stride
    return _window(rng.randrange(room) if room > 0 else 0, frames, stride, num_frames)


def linspace_windows(num_frames: int, frames: int, stride: int, clips: int) -> list[list[int]]:
    """TSM's and IBM's dense test windows: starts ``numpy.linspace(0, p - 1, clips)`` cast to
    integers (floor), ``p = max(1, n - frames * stride + 1)``; one clip is the first window."""
    _check(num_frames, frames, clips)
    positions = max(1, 1 + num_frames - frames * stride)
    starts = np.linspace(0, positions - 1, num=clips, dtype=int).tolist()
    return [_window(start, frames, stride, num_frames) for start in starts]


def _window(start: int, frames: int, stride: int, num_frames: int) -> list[int]:
    return [(start + i * stride) % num_frames for i in range(frames)]


@dataclass(frozen=True)
class ClipSampler:
    """Which frames make up a training clip, or each test view of a video.

    Test views take `test_frames` segments (dense: frames) in `test_mode`, by default the
    training clip's: TSM's Kinetics TSN trains on 5 segments and tests on 8, or dense 8 x 8."""

    frames: int
    mode: Literal["segment", "dense"] = "segment"
    stride: int = 8
    clips: int = 1
    frames_per_segment: int = 1
    train_rule: TrainRule = "tile"
    test_rule: TestRule = "even"
    test_frames: int | None = None
    test_mode: Literal["segment", "dense"] | None = None

    def __post_init__(self) -> None:
        problem = rule_problem(self.test_mode or self.mode, self.train_rule, self.test_rule,
                               self.clips, self.frames_per_segment)
        if problem is not None:
            raise ValueError(f"ClipSampler: {problem[0]}: {problem[1]}")

    def train(self, num_frames: int, rng: random.Random) -> list[int]:
        if self.mode == "dense":
            if self.train_rule == "tile":
                return dense_indices(num_frames, self.frames, self.stride, train=True, rng=rng)
            return window_train_indices(num_frames, self.frames, self.stride, rng)
        length = self.frames_per_segment
        if self.train_rule == "tsm":
            starts = tsm_segment_indices(num_frames, self.frames, length, rng)
        elif self.train_rule == "ibm":
            starts = ibm_segment_indices(num_frames, self.frames, rng)
        else:
            starts = segment_indices(start_range(num_frames, length), self.frames, train=True,
                                     rng=rng)
        return consecutive(starts, length, num_frames)

    def test(self, num_frames: int) -> list[list[int]]:
        frames = self.test_frames or self.frames
        if (self.test_mode or self.mode) == "dense":
            if self.test_rule == "linspace":
                return linspace_windows(num_frames, frames, self.stride, self.clips)
            return dense_test_clips(num_frames, frames, self.stride, self.clips)
        length = self.frames_per_segment
        starts = start_range(num_frames, length)
        if self.test_rule == "tsm_twice":
            clips = tsm_twice_indices(starts, frames)
        elif self.test_rule == "ibm_offsets":
            clips = ibm_offset_indices(num_frames, frames, self.clips)
        elif self.test_rule == "tsn_val":
            clips = [tsn_val_indices(num_frames, frames, length)]
        else:
            clips = test_clip_indices(starts, frames, self.clips)
        return [consecutive(clip, length, num_frames) for clip in clips]
