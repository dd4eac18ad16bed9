from __future__ import annotations

import functools
import random

import pytest
import torch

from actionbench.core.errors import UserError
from actionbench.core.model_input import IMAGENET_MEAN, to_model_input
from actionbench.data import synthmotion
from actionbench.data.annotations import read_list
from actionbench.data.frames import FrameFolderDataset
from actionbench.data.sampling import ClipSampler
from actionbench.data.transforms import apply, eval_transform, train_transform

CONFIG = synthmotion.SynthConfig(train_per_class=1, val_per_class=1, frames=8, size=32)


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "synthmotion"
    synthmotion.generate(root, CONFIG, progress=False)
    return root


def dataset(root, list_name, train, frames=4, crops=1, clips=1, frames_per_segment=1,
            mode="segment"):
    transform = (train_transform(32, flip=False) if train else eval_transform(32, 32, crops))
    sampler = ClipSampler(frames, mode, stride=2, clips=clips, frames_per_segment=frames_per_segment)
    return FrameFolderDataset(root, read_list(root / list_name, 10), sampler,
                              functools.partial(apply, transform), train=train,
                              template=synthmotion.TEMPLATE)


@pytest.mark.parametrize("list_name", ["val.txt", "val_start_end.txt"])
def test_both_list_formats_decode_the_same_test_clips(synth_root, list_name):
    reference = dataset(synth_root, "val.txt", train=False)
    other = dataset(synth_root, list_name, train=False)
    for index in range(len(reference)):
        (a, label_a), (b, label_b) = reference[index], other[index]
        assert torch.equal(a, b) and label_a == label_b


def test_test_clips_are_the_centre_frames_of_each_segment(synth_root):
    data = dataset(synth_root, "val.txt", train=False, frames=4)
    record = data.records[0]
    clip, label = data[0]
    assert clip.shape == (1, 4, 3, 32, 32) and clip.dtype == torch.uint8
    assert label == record.label
    # centre sampling of 8 frames in 4 segments picks frames 1, 3, 5, 7 (0-based)
    assert torch.equal(clip[0], data.load(record, [1, 3, 5, 7]))


def test_consecutive_frames_per_segment(synth_root):
    data = dataset(synth_root, "val.txt", train=False, frames=2, frames_per_segment=3)
    clip, _ = data[0]
    assert clip.shape == (1, 6, 3, 32, 32)
    # 6 possible starts in 2 segments: centres 1 and 4, each followed by 2 more frames
    assert torch.equal(clip[0], data.load(data.records[0], [1, 2, 3, 4, 5, 6]))
    train = dataset(synth_root, "train.txt", train=True, frames=2, frames_per_segment=3)
    assert train[0][0].shape == (6, 3, 32, 32)


def test_training_clip_has_random_offsets_reproducible_with_the_seed(synth_root):
    data = dataset(synth_root, "train.txt", train=True, frames=4)
    torch.manual_seed(0)
    first, label = data[3]
    torch.manual_seed(0)
    again, _ = data[3]
    assert first.shape == (4, 3, 32, 32) and label == data.records[3].label
    assert torch.equal(first, again)


@pytest.mark.parametrize("crops", [3, 10])
def test_multi_view_testing_stacks_clips_and_crops(synth_root, crops):
    data = dataset(synth_root, "val.txt", train=False, frames=4, crops=crops, clips=2)
    clip, _ = data[0]
    assert clip.shape == (2 * crops, 4, 3, 32, 32)


def test_dense_sampling_takes_strided_frames(synth_root):
    data = dataset(synth_root, "val.txt", train=False, frames=3, mode="dense", clips=2)
    clip, _ = data[0]
    record = data.records[0]
    # 8 frames, 3 frames 2 apart: windows start at 0 and 3
    assert torch.equal(clip[0], data.load(record, [0, 2, 4]))
    assert torch.equal(clip[1], data.load(record, [3, 5, 7]))


def test_reversed_class_holds_the_same_frames_in_reverse(synth_root):
    data = dataset(synth_root, "val.txt", train=False, frames=8)
    by_label = {record.label: index for index, record in enumerate(data.records)}
    forward, _ = data[by_label[0]]
    backward, _ = data[by_label[1]]
    assert torch.equal(forward[0], backward[0].flip(0))


def test_missing_and_corrupt_frames_name_the_file(synth_root, tmp_path):
    data = dataset(synth_root, "val.txt", train=False)
    record = data.records[0]
    broken = tmp_path / "copy"
    folder = broken / record.path
    folder.mkdir(parents=True)
    for number in range(1, 9):
        (folder / synthmotion.TEMPLATE.format(number)).write_bytes(
            (synth_root / record.path / synthmotion.TEMPLATE.format(number)).read_bytes())
    (folder / "img_00002.jpg").write_bytes(b"\xff\xd8\xff garbage")
    data.root = broken
    with pytest.raises(UserError, match="img_00002.jpg"):
        data.load(record, [0, 1])
    (folder / "img_00004.jpg").unlink()
    with pytest.raises(UserError, match="img_00004.jpg"):
        data.load(record, [3])


def test_to_model_input_normalises_and_moves_channels_first():
    videos = torch.full((2, 4, 3, 8, 8), 255, dtype=torch.uint8)
    videos[:, :, 0] = 0
    inputs = to_model_input(videos, "cpu")
    assert inputs.shape == (2, 3, 4, 8, 8) and inputs.dtype == torch.float32
    assert torch.allclose(inputs[:, 0], torch.tensor(-IMAGENET_MEAN[0] / 0.229))
    assert torch.allclose(inputs[:, 1], torch.tensor((1 - IMAGENET_MEAN[1]) / 0.224))


def test_train_transform_crops_every_frame_identically():
    random.seed(0)
    torch.manual_seed(0)
    frames = torch.arange(40 * 40, dtype=torch.float).view(1, 1, 40, 40).repeat(3, 3, 1, 1)
    out = apply(train_transform(24, flip=True), frames.to(torch.uint8))
    assert out.shape == (3, 3, 24, 24)
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])
