"""TSN segment sampling: which frames of a video make up one clip.

The video is cut into `segments` equal parts and one frame is taken from each, so a clip
always spans the whole video whatever its length; that is what lets a 2D backbone with
temporal modules (TSM, TSN, ...) see the full action. Offsets are 0-based within the video;
the dataset adds `VideoRecord.start`.

Testing takes frames at fixed relative positions inside each segment (the centre for a single
clip), computed as ``int(seg_len * i + seg_len * position)`` with a float ``seg_len``:
exactly TSM's ``ops/dataset.py`` formula for the centre (position 0.5). The same formula
also serves videos shorter than `segments`: the indices then repeat frames but still ascend
and cover the video, so every video yields exactly `segments` indices instead of TSM's
all-zero fallback.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal


def segment_indices(num_frames: int, segments: int, *, train: bool,
                    rng: random.Random | None = None) -> list[int]:
    """One clip: a random frame per segment for training, the centre frames for testing.

    Training segments are ``[i * n // s, (i + 1) * n // s)`` in integer arithmetic, so they
    tile the whole video (TSM's integer segment length can leave the last frames unused). An
    empty segment, which only happens when ``num_frames < segments``, takes its start frame.
    """
    _check(num_frames, segments, 1)
    if not train:
        return _positions(num_frames, segments, 0.5)
    if rng is None:
        raise ValueError("segment_indices: train=True needs an rng, so sampling is reproducible")
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


def _positions(num_frames: int, segments: int, position: float) -> list[int]:
    seg_len = num_frames / segments
    return [int(seg_len * i + seg_len * position) for i in range(segments)]


def _check(num_frames: int, segments: int, clips: int) -> None:
    if num_frames < 1 or segments < 1 or clips < 1:
        raise ValueError(f"sampling needs num_frames, segments and clips >= 1, got "
                         f"num_frames={num_frames}, segments={segments}, clips={clips}")



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
    centre one for testing (I3D / non-local / TSM's Kinetics "dense" sampling). Videos shorter
    than the window wrap around, as TSM's dense sampler does."""
    _check(num_frames, frames, 1)
    room = max(num_frames - (frames - 1) * stride - 1, 0)
    if train and rng is None:
        raise ValueError("dense_indices: train=True needs an rng, so sampling is reproducible")
    start = rng.randint(0, room) if train else room // 2
    return [(start + i * stride) % num_frames for i in range(frames)]


def dense_test_clips(num_frames: int, frames: int, stride: int, clips: int) -> list[list[int]]:
    """`clips` windows with evenly spaced starts over the video (TSM's multi-clip dense test)."""
    _check(num_frames, frames, clips)
    room = max(num_frames - (frames - 1) * stride - 1, 0)
    starts = [round(room * k / (clips - 1)) if clips > 1 else room // 2 for k in range(clips)]
    return [[(start + i * stride) % num_frames for i in range(frames)] for start in starts]


@dataclass(frozen=True)
class ClipSampler:
    """Which frames make up a training clip, or each test view of a video."""

    frames: int
    mode: Literal["segment", "dense"] = "segment"
    stride: int = 8
    clips: int = 1
    frames_per_segment: int = 1

    def train(self, num_frames: int, rng: random.Random) -> list[int]:
        if self.mode == "dense":
            return dense_indices(num_frames, self.frames, self.stride, train=True, rng=rng)
        starts = segment_indices(start_range(num_frames, self.frames_per_segment), self.frames,
                                 train=True, rng=rng)
        return consecutive(starts, self.frames_per_segment, num_frames)

    def test(self, num_frames: int) -> list[list[int]]:
        if self.mode == "dense":
            return dense_test_clips(num_frames, self.frames, self.stride, self.clips)
        clips = test_clip_indices(start_range(num_frames, self.frames_per_segment), self.frames,
                                  self.clips)
        return [consecutive(starts, self.frames_per_segment, num_frames) for starts in clips]
