"""TSN segment sampling: exactly `segments` ascending in-range indices for any video length."""

from __future__ import annotations

import random

import pytest

from actionbench.data import sampling  # module import: pytest would collect test_clip_indices

CASES = [(n, s) for n in range(1, 41) for s in (1, 3, 8, 16)]


def _train(n: int, s: int, seed: int = 0) -> list[int]:
    return sampling.segment_indices(n, s, train=True, rng=random.Random(seed))


@pytest.mark.parametrize("n, s", CASES)
def test_every_sampling_gives_segments_ascending_indices_in_range(n: int, s: int) -> None:
    clips = [_train(n, s), sampling.segment_indices(n, s, train=False),
             *sampling.test_clip_indices(n, s, clips=3)]
    for indices in clips:
        assert len(indices) == s
        assert all(0 <= index < n for index in indices)
        assert indices == sorted(indices)
        if n >= s:
            assert len(set(indices)) == s  # strictly ascending: no frame is used twice


def test_centre_sampling_known_values() -> None:
    assert sampling.segment_indices(16, 8, train=False) == [1, 3, 5, 7, 9, 11, 13, 15]
    assert sampling.segment_indices(10, 4, train=False) == [1, 3, 6, 8]
    assert sampling.segment_indices(7, 1, train=False) == [3]


@pytest.mark.parametrize("n, s", [(n, s) for n, s in CASES if n > s])
def test_centre_sampling_matches_tsm_formula(n: int, s: int) -> None:
    tick = n / float(s)
    assert sampling.segment_indices(n, s, train=False) == [int(tick / 2.0 + tick * x)
                                                           for x in range(s)]


def test_training_takes_one_frame_per_segment_and_reaches_every_frame() -> None:
    n, s = 17, 8
    bounds = [(i * n // s, (i + 1) * n // s) for i in range(s)]
    seen = set()
    for seed in range(300):
        indices = _train(n, s, seed)
        assert all(low <= index < high for index, (low, high) in zip(indices, bounds))
        seen.update(indices)
    assert seen == set(range(n))  # the segments tile the video, the last frame included


def test_training_is_reproducible_and_varies_with_the_seed() -> None:
    assert _train(64, 8, seed=3) == _train(64, 8, seed=3)
    assert len({tuple(_train(64, 8, seed)) for seed in range(5)}) > 1


def test_training_needs_an_rng() -> None:
    with pytest.raises(ValueError, match="rng"):
        sampling.segment_indices(16, 8, train=True)


def test_short_video_repeats_frames_but_covers_it() -> None:
    for indices in (_train(3, 8), sampling.segment_indices(3, 8, train=False),
                    *sampling.test_clip_indices(3, 8, clips=2)):
        assert len(indices) == 8
        assert indices == sorted(indices)
        assert set(indices) == {0, 1, 2}
    assert _train(1, 4) == [0, 0, 0, 0]


def test_test_clips_interleave() -> None:
    assert sampling.test_clip_indices(16, 4, clips=2) == [[1, 5, 9, 13], [3, 7, 11, 15]]
    assert sampling.test_clip_indices(30, 8, clips=1) == [
        sampling.segment_indices(30, 8, train=False)]


@pytest.mark.parametrize("n, s, clips", [(0, 8, 1), (16, 0, 1), (16, 8, 0)])
def test_invalid_arguments(n: int, s: int, clips: int) -> None:
    with pytest.raises(ValueError):
        sampling.test_clip_indices(n, s, clips)


def test_consecutive_runs_stay_inside_the_video():
    starts = sampling.segment_indices(sampling.start_range(10, 4), 2, train=False)
    assert starts == [1, 5]
    assert sampling.consecutive(starts, 4, 10) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert sampling.start_range(3, 4) == 1
    assert sampling.consecutive([0], 4, 3) == [0, 1, 2, 2]


def test_dense_sampling_windows():
    import random

    assert sampling.dense_indices(64, 8, 8, train=False) == [3, 11, 19, 27, 35, 43, 51, 59]
    assert sampling.dense_indices(100, 4, 8, train=False) == [37, 45, 53, 61]
    picks = {tuple(sampling.dense_indices(100, 4, 8, train=True, rng=random.Random(seed)))
             for seed in range(20)}
    assert len(picks) > 5 and all(p[-1] - p[0] == 24 and p[-1] < 100 for p in picks)
    assert sampling.dense_indices(10, 4, 4, train=False) == [0, 4, 8, 2]  # wraps around
    assert sampling.dense_test_clips(100, 4, 8, 3) == [[0, 8, 16, 24], [38, 46, 54, 62],
                                                       [75, 83, 91, 99]]


def test_clip_sampler_segment_mode_reads_consecutive_frames():
    sampler = sampling.ClipSampler(frames=2, clips=2, frames_per_segment=2)
    assert sampler.test(10) == [[1, 2, 5, 6], [3, 4, 7, 8]]
