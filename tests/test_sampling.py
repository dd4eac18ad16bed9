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


# The references' rules. Expected indices are worked out by hand from the reference formulas
# (docs/protocols.md, "Frame indices"); 0-based, where the references' lists are 1-based.

def test_tsm_twice_sample_on_37_frames() -> None:
    # tick = 37 / 8 = 4.625: centres int(2.3125 + 4.625 x), starts int(4.625 x)
    assert sampling.tsm_twice_indices(37, 8) == [[2, 6, 11, 16, 20, 25, 30, 34],
                                                 [0, 4, 9, 13, 18, 23, 27, 32]]
    sampler = sampling.ClipSampler(frames=8, clips=2, test_rule="tsm_twice")
    assert sampler.test(37) == sampling.tsm_twice_indices(37, 8)
    # ours puts the two clips at 1/4 and 3/4 of each segment instead
    assert sampling.ClipSampler(frames=8, clips=2).test(37) == [[1, 5, 10, 15, 19, 24, 28, 33],
                                                                [3, 8, 12, 17, 21, 26, 31, 35]]


def test_tsm_twice_sample_reads_runs_over_the_start_positions() -> None:
    # PAN-style runs of 4: tick = (12 - 4 + 1) / 2 = 4.5; centres 2, 6; starts 0, 4
    sampler = sampling.ClipSampler(frames=2, clips=2, frames_per_segment=4, test_rule="tsm_twice")
    assert sampler.test(12) == [[2, 3, 4, 5, 6, 7, 8, 9], [0, 1, 2, 3, 4, 5, 6, 7]]


def test_ibm_offsets_shift_the_centre_by_whole_frames() -> None:
    centres = [2, 6, 11, 16, 20, 25, 30, 34]  # int(2.3125 + 4.625 x) on 37 frames
    assert sampling.ibm_offset_indices(37, 8, 1) == [centres]
    # 2 clips: shifts 0, 1 (range(-2 // 2 + 1, 2 // 2 + 1)); 3 clips: -1, 0, 1
    assert sampling.ibm_offset_indices(37, 8, 2) == [centres, [3, 7, 12, 17, 21, 26, 31, 35]]
    assert sampling.ibm_offset_indices(37, 8, 3) == [[1, 5, 10, 15, 19, 24, 29, 33], centres,
                                                     [3, 7, 12, 17, 21, 26, 31, 35]]


def test_ibm_offsets_are_clamped_into_half_a_segment() -> None:
    # 10 frames, tick 1.25: shift -1 becomes -0.625 and 1 becomes 0.625 - 1e-4
    assert sampling.ibm_offset_indices(10, 8, 3) == [[0, 1, 2, 3, 5, 6, 7, 8],
                                                     [0, 1, 3, 4, 5, 6, 8, 9],
                                                     [1, 2, 3, 4, 6, 7, 8, 9]]


def test_ibm_offsets_on_a_short_video_draw_as_ibm_seeds_numpy() -> None:
    # 6 frames, 8 segments: clip k is sorted(np.random.RandomState(k).choice(6, 8)), IBM's
    # np.random.seed(k) followed by np.random.choice(6, 8)
    assert sampling.ibm_offset_indices(6, 8, 2) == [[0, 1, 3, 3, 3, 3, 4, 5],
                                                    [0, 0, 1, 3, 3, 4, 5, 5]]


def test_tsn_val_falls_back_to_the_first_frame_on_short_videos() -> None:
    assert sampling.tsn_val_indices(8, 8, 1) == [0] * 8  # not longer than the clip
    assert sampling.tsn_val_indices(9, 8, 1) == [0, 1, 2, 3, 5, 6, 7, 8]  # tick 1.125
    assert sampling.tsn_val_indices(11, 8, 4) == [0] * 8  # 11 <= 8 + 4 - 1
    assert sampling.tsn_val_indices(12, 8, 4) == [0, 1, 2, 3, 5, 6, 7, 8]  # tick (12 - 3) / 8
    # the test centre of `even` has no fallback: it spreads over the short video
    assert sampling.segment_indices(8, 8, train=False) == list(range(8))
    sampler = sampling.ClipSampler(frames=2, frames_per_segment=4, test_rule="tsn_val")
    assert sampler.test(5) == [[0, 1, 2, 3, 0, 1, 2, 3]]


def test_linspace_windows_on_300_frames() -> None:
    # 8 x 8: p = 300 - 64 + 1 = 237 start positions, starts floor(linspace(0, 236, 10))
    windows = sampling.linspace_windows(300, 8, 8, 10)
    assert [window[0] for window in windows] == [0, 26, 52, 78, 104, 131, 157, 183, 209, 236]
    assert windows[-1] == [236, 244, 252, 260, 268, 276, 284, 292]
    # ours: a 57-frame window, 243 start positions, rounded starts
    ours = sampling.dense_test_clips(300, 8, 8, 10)
    assert [window[0] for window in ours] == [0, 27, 54, 81, 108, 135, 162, 189, 216, 243]


def test_linspace_one_clip_is_the_first_window_and_short_videos_wrap() -> None:
    assert sampling.linspace_windows(300, 32, 2, 1) == [list(range(0, 64, 2))]  # IBM dense 1 clip
    assert sampling.dense_test_clips(300, 32, 2, 1)[0][0] == 118  # ours: the centre window
    assert sampling.linspace_windows(50, 8, 8, 3) == [[0, 8, 16, 24, 32, 40, 48, 6]] * 3


def _draws(draw, seeds: int = 400) -> set[tuple[int, ...]]:
    return {tuple(draw(random.Random(seed))) for seed in range(seeds)}


def test_tsm_training_segments_have_integer_length() -> None:
    # 37 frames, 8 segments of 37 // 8 = 4 frames: frame 4 i + [0, 4); frames 32-36 never drawn
    clips = _draws(lambda rng: sampling.tsm_segment_indices(37, 8, 1, rng))
    assert {clip[i] for clip in clips for i in range(8)} == set(range(32))
    assert all(4 * i <= clip[i] < 4 * i + 4 for clip in clips for i in range(8))
    assert len({clip[:2] for clip in clips}) == 16  # the segments are drawn independently
    assert sampling.tsm_segment_indices(10, 8, 1, random.Random(0)) == list(range(8))
    assert _draws(lambda rng: sampling.tsm_segment_indices(6, 8, 1, rng)) == {(0,) * 8}


def test_tsm_training_short_video_draws_sorted_starts_with_replacement() -> None:
    # runs of 4 on 9 frames: 6 start positions, 6 // 8 = 0, and 9 > 8 frames: sorted draws
    clips = _draws(lambda rng: sampling.tsm_segment_indices(9, 8, 4, rng))
    assert all(list(clip) == sorted(clip) and set(clip) <= set(range(6)) for clip in clips)
    assert any(len(set(clip)) < 8 for clip in clips)


def test_ibm_training_shares_one_offset_over_the_segments() -> None:
    clips = _draws(lambda rng: sampling.ibm_segment_indices(37, 8, rng))
    assert clips == {tuple(4 * i + offset for i in range(8)) for offset in range(4)}
    short = _draws(lambda rng: sampling.ibm_segment_indices(6, 8, rng))
    assert all(list(clip) == sorted(clip) and set(clip) <= set(range(6)) for clip in short)


def test_reference_dense_training_window_starts_before_n_minus_window() -> None:
    starts = {clip[0] for clip in _draws(
        lambda rng: sampling.window_train_indices(100, 8, 8, rng))}
    assert starts == set(range(36))  # [0, 100 - 64)
    assert _draws(lambda rng: sampling.window_train_indices(64, 8, 8, rng)) == {
        tuple(range(0, 64, 8))}
    ours = {clip[0] for clip in _draws(lambda rng: sampling.dense_indices(100, 8, 8, train=True,
                                                                          rng=rng))}
    assert ours == set(range(44))  # [0, 100 - 57]


def test_clip_sampler_selects_the_reference_training_rules() -> None:
    for rule, function in (("tsm", lambda rng: sampling.tsm_segment_indices(37, 8, 1, rng)),
                           ("ibm", lambda rng: sampling.ibm_segment_indices(37, 8, rng))):
        sampler = sampling.ClipSampler(frames=8, train_rule=rule)
        assert sampler.train(37, random.Random(5)) == function(random.Random(5))
    dense = sampling.ClipSampler(frames=8, mode="dense", train_rule="ibm", test_rule="linspace",
                                 clips=10)
    assert dense.train(100, random.Random(2)) == sampling.window_train_indices(100, 8, 8,
                                                                               random.Random(2))
    assert dense.test(300) == sampling.linspace_windows(300, 8, 8, 10)


@pytest.mark.parametrize("arguments, message", [
    (dict(mode="dense", test_rule="tsm_twice", clips=2), "does not apply to dense"),
    (dict(test_rule="linspace"), "does not apply to segment"),
    (dict(test_rule="tsm_twice", clips=3), "exactly 2 clips"),
    (dict(test_rule="tsn_val", clips=2), "exactly 1 clip"),
    (dict(train_rule="ibm", frames_per_segment=4), "one frame per segment"),
])
def test_clip_sampler_refuses_rules_that_do_not_fit(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        sampling.ClipSampler(frames=8, **arguments)
