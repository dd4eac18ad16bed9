"""The loaders run the plan's protocol: its frame rules, test sizes and crops, training crop,
and short-video filter, with the videos left out counted for the record."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import tiny_experiment
from torchvision.transforms import v2

from actionbench.config import resolve
from actionbench.core.errors import UserError
from actionbench.data.loader import build_loaders
from actionbench.data.sampling import tsm_twice_indices
from actionbench.data.transforms import MultiScaleCrop, RandomShortSide


def write_lists(root: Path, folder: Path, lengths: list[int]) -> dict:
    """Training and evaluation lists naming synthmotion's 8-frame folders with the given
    frame counts (a list may use fewer frames than a folder holds)."""
    entries = sorted((root / "val.txt").read_text().splitlines())[:len(lengths)]
    lines = [f"{entry.split()[0]} {length} {entry.split()[2]}" for entry, length in zip(entries, lengths)]
    for name in ("train.txt", "val.txt"):
        (folder / name).write_text("\n".join(lines) + "\n")
    return {"data__root": str(root), "data__train_list": str(folder / "train.txt"),
            "data__val_list": str(folder / "val.txt")}


def unwrapped(dataset):
    while hasattr(dataset, "dataset"):
        dataset = dataset.dataset
    return dataset


def test_min_frames_leaves_short_videos_out_of_both_lists_and_counts_them(synth_root, tmp_path):
    lists = write_lists(synth_root, tmp_path, [2, 3, 8, 5, 1])
    train, val = build_loaders(resolve(tiny_experiment(**lists, data__min_frames=3), "row.yaml"))
    assert [record.num_frames for record in unwrapped(val.dataset).records] == [3, 8, 5]
    assert len(unwrapped(train.dataset).records) == 3
    summary = val.policy.summary()
    assert (summary["videos_dropped"], summary["train_videos_dropped"]) == (2, 2)
    _, val = build_loaders(resolve(tiny_experiment(**lists), "row.yaml"), train=False)
    assert len(unwrapped(val.dataset).records) == 5 and val.policy.summary()["videos_dropped"] == 0


def test_a_list_with_only_short_videos_is_refused(synth_root, tmp_path):
    lists = write_lists(synth_root, tmp_path, [2, 2])
    with pytest.raises(UserError, match="shorter than data.min_frames"):
        build_loaders(resolve(tiny_experiment(**lists, data__min_frames=3), "row.yaml"))


def test_evaluation_uses_its_own_sizes_crops_and_frame_rule(synth_root):
    plan = resolve(tiny_experiment(data__root=str(synth_root), eval__clips=2, eval__crops=3,
                                   eval__test_rule="tsm_twice", eval__crop_rule="tsm",
                                   eval__input_size=24, eval__scale_size=28), "row.yaml")
    train, val = build_loaders(plan)
    videos, _ = next(iter(val))
    assert videos.shape[1:] == (6, 4, 3, 24, 24)
    assert unwrapped(val.dataset).sampler.test(37) == tsm_twice_indices(37, 4)
    clips, _ = next(iter(train))
    assert clips.shape[1:] == (4, 3, 32, 32)  # training keeps data.input_size


@pytest.mark.parametrize("crop, step", [("tsn_multiscale", MultiScaleCrop),
                                        ("ibm_scale_jitter", RandomShortSide)])
def test_training_uses_the_chosen_crop_and_frame_rule(synth_root, crop, step):
    plan = resolve(tiny_experiment(data__root=str(synth_root), data__train_crop=crop,
                                   data__scale_range=[32, 40], data__train_rule="ibm",
                                   data__flip="always"), "row.yaml")
    train, _ = build_loaders(plan)
    dataset = unwrapped(train.dataset)
    steps = [type(transform) for transform in dataset.transform.args[0].transforms]
    assert step in steps and v2.RandomHorizontalFlip in steps  # IBM flips synthmotion too
    assert dataset.sampler.train_rule == "ibm"
    clips, _ = next(iter(train))
    assert clips.shape[1:] == (4, 3, 32, 32)


def test_evaluation_takes_more_segments_than_training_when_eval_frames_says_so(synth_root):
    plan = resolve(tiny_experiment(model__method="tsn", data__root=str(synth_root), data__frames=5,
                                   eval__frames=8), "row.yaml")
    train, val = build_loaders(plan)
    clips, _ = next(iter(train))
    assert clips.shape[1:] == (5, 3, 32, 32)
    videos, _ = next(iter(val))
    assert videos.shape[1:] == (1, 8, 3, 32, 32)
    # 8 centres on a 37-frame video: int(4.625 / 2 + 4.625 x)
    assert unwrapped(val.dataset).sampler.test(37) == [[2, 6, 11, 16, 20, 25, 30, 34]]


def test_dense_test_windows_after_segment_training(synth_root):
    plan = resolve(tiny_experiment(model__method="tsn", data__root=str(synth_root), data__frames=5,
                                   eval__frames=8, eval__sampling="dense", data__dense_stride=8,
                                   eval__test_rule="linspace", eval__clips=10), "row.yaml")
    train, val = build_loaders(plan)
    sampler = unwrapped(val.dataset).sampler
    # 300 frames, 8 x 8: p = 300 - 64 + 1 = 237 starts, floor(linspace(0, 236, 10))
    windows = sampler.test(300)
    assert [window[0] for window in windows] == [0, 26, 52, 78, 104, 131, 157, 183, 209, 236]
    assert windows[1] == [26, 34, 42, 50, 58, 66, 74, 82]
    assert len(sampler.train(300, random.Random(0))) == 5  # training stays 5 uniform segments
    clips, _ = next(iter(train))
    assert clips.shape[1:] == (5, 3, 32, 32)
