"""A clip whose frames differ in size (re-encoded or spliced data) is resized to its first
frame's size instead of failing to stack, in frame folders and video files alike."""

from __future__ import annotations

import shutil

import torch
from torchvision.io import decode_jpeg, encode_jpeg, read_file

from actionbench.data import synthmotion
from actionbench.data.annotations import read_list
from actionbench.data.clip_dataset import one_size
from actionbench.data.frames import FrameFolderDataset
from actionbench.data.sampling import ClipSampler


def test_frames_of_another_size_are_resized_to_the_first_frames(minimal_synth_root, tmp_path):
    root = tmp_path / "synthmotion"
    shutil.copytree(minimal_synth_root, root)
    (record, *_) = read_list(root / "train.txt", 10)
    odd = root / record.path / synthmotion.TEMPLATE.format(2)
    odd.write_bytes(encode_jpeg(torch.full((3, 40, 48), 200, dtype=torch.uint8)).numpy().tobytes())
    data = FrameFolderDataset(root, [record], ClipSampler(4, "segment", 1), lambda clip: clip, train=False,
                              template=synthmotion.TEMPLATE)
    clip = data.load(record, [0, 1, 2, 3])
    assert clip.shape == (4, 3, 32, 32) and clip.dtype == torch.uint8
    assert (clip[1].float().mean() - 200).abs() < 3  # the odd frame, resized, not replaced
    first = decode_jpeg(read_file(str(root / record.path / synthmotion.TEMPLATE.format(1))))
    assert torch.equal(clip[0], first)  # the others untouched


def test_one_size_keeps_frames_of_the_first_size_as_they_are():
    frames = [torch.zeros(3, 24, 32, dtype=torch.uint8), torch.ones(3, 24, 32, dtype=torch.uint8),
              torch.full((3, 48, 64), 9, dtype=torch.uint8)]
    resized = one_size(frames)
    assert resized[0] is frames[0] and resized[1] is frames[1]
    assert resized[2].shape == (3, 24, 32) and torch.all(resized[2] == 9)
