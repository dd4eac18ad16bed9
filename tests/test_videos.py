"""The video-file dataset: clips decoded from generated videos, checked against a decode of
every frame and against the frame folders `data extract` makes of the same videos."""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path

import av
import pytest
import torch
from conftest import grey_level, tiny_experiment, write_video

from actionbench.config import resolve
from actionbench.core.errors import SampleError, UserError
from actionbench.data import videos as video_module
from actionbench.data.annotations import VideoRecord
from actionbench.data.catalog import get_dataset
from actionbench.data.clip_dataset import ClipDataset
from actionbench.data.convert.pipeline import convert
from actionbench.data.extract import extract_all
from actionbench.data.frames import FrameFolderDataset
from actionbench.data.loader import build_loaders, storage_of
from actionbench.data.sampling import ClipSampler
from actionbench.data.transforms import apply, eval_transform, train_transform
from actionbench.data.videos import VideoFileDataset, _numbered_frames, count_frames, decode_video

FRAMES = 48


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    write_video(root / "long.mp4", FRAMES, gop=8)
    write_video(root / "short.webm", 11, codec="libvpx")
    return root


def decode_all(path: Path) -> list[torch.Tensor]:
    with av.open(str(path)) as container:
        return [torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1)
                for frame in container.decode(container.streams.video[0])]


@pytest.mark.parametrize("indices", [[0, 5, 9], [33, 40, 47], [47, 33, 33], [36], [20, 45]])
def test_decoded_frames_equal_a_decode_of_every_frame(videos, indices):
    # From frame 32 on, decoding seeks to the keyframe before the first wanted frame.
    reference = decode_all(videos / "long.mp4")
    frames = decode_video(videos / "long.mp4", indices)
    assert sorted(frames) == sorted(set(indices))
    for index in indices:
        assert torch.equal(frames[index], reference[index])


def test_far_frames_are_reached_by_seeking_to_the_keyframe_before_them(videos):
    with av.open(str(videos / "long.mp4")) as container:
        numbered = _numbered_frames(container, container.streams.video[0], 36)
        assert next(numbered)[0] == 32  # keyframes every 8 frames: nothing before 32 is decoded


def test_indices_past_the_end_get_the_last_frame(videos):
    reference = decode_all(videos / "short.webm")
    frames = decode_video(videos / "short.webm", [3, 11, 12])
    assert torch.equal(frames[3], reference[3])
    assert torch.equal(frames[11], reference[10]) and torch.equal(frames[12], reference[10])


def test_a_torchcodec_that_cannot_decode_gives_way_to_pyav(videos, monkeypatch):
    class Unloadable:  # torchcodec installed without the FFmpeg libraries it loads at first use
        def __init__(self, *args, **kwargs):
            raise RuntimeError("Could not load libtorchcodec")

    monkeypatch.setattr(video_module, "_torchcodec_decoder", lambda: Unloadable)
    monkeypatch.setattr(video_module, "_use_torchcodec", True)
    frames = decode_video(videos / "long.mp4", [2])
    assert torch.equal(frames[2], decode_all(videos / "long.mp4")[2])
    assert video_module._use_torchcodec is False  # not tried again in this process


def test_frame_counts_from_the_container_or_its_packets(videos):
    assert count_frames(videos / "long.mp4") == FRAMES
    assert count_frames(videos / "short.webm") == 11  # webm keeps no count: packets are counted


def test_undecodable_and_missing_videos_name_the_file(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(SampleError, match=f"{broken}: cannot decode video"):
        decode_video(broken, [0])
    with pytest.raises(SampleError, match=f"{broken}: cannot read video"):
        count_frames(broken)
    with pytest.raises(SampleError, match=f"{tmp_path / 'absent.mp4'}: video file not found"):
        decode_video(tmp_path / "absent.mp4", [0])


def datasets(videos: Path, frames_root: Path, train: bool, sampler: ClipSampler):
    """The same videos as files and as extracted frame folders, with the same sampler."""
    transform = functools.partial(apply, train_transform(32, flip=False) if train
                                  else eval_transform(32, 32, crops=1))
    common = dict(sampler=sampler, transform=transform, train=train)
    as_videos = VideoFileDataset(videos, [VideoRecord("long.mp4", 1, FRAMES, 3)], **common)
    as_frames = FrameFolderDataset(frames_root, [VideoRecord("long", 1, FRAMES, 3)], **common,
                                   template="img_{:05d}.jpg")
    return as_videos, as_frames


def levels(clip: torch.Tensor) -> list[int]:
    """Frame index of every frame of a (..., T, C, H, W) clip, read back from its grey level."""
    means = clip.float().mean(dim=(-3, -2, -1)).flatten()
    return [round((mean.item() - grey_level(0)) / (grey_level(1) - grey_level(0))) for mean in means]


@pytest.fixture(scope="module")
def frames_root(videos, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("frames")
    extract_all(videos, root, progress=False)
    return root


@pytest.mark.parametrize("sampler", [ClipSampler(8, "segment", clips=2),
                                     ClipSampler(4, "dense", stride=3, clips=3),
                                     ClipSampler(3, "segment", clips=1, frames_per_segment=2)])
def test_video_and_frame_folder_give_the_same_test_views(videos, frames_root, sampler):
    as_videos, as_frames = datasets(videos, frames_root, train=False, sampler=sampler)
    (clip, label), (reference, reference_label) = as_videos[0], as_frames[0]
    assert clip.shape == reference.shape == (sampler.clips, sampler.frames * sampler.frames_per_segment,
                                             3, 32, 32)
    assert clip.dtype == torch.uint8 and label == reference_label == 3
    expected = [index for view in sampler.test(FRAMES) for index in view]
    assert levels(clip) == levels(reference) == expected


def test_video_and_frame_folder_give_the_same_training_clips(videos, frames_root):
    sampler = ClipSampler(4, "dense", stride=5)
    as_videos, as_frames = datasets(videos, frames_root, train=True, sampler=sampler)
    torch.manual_seed(3)
    clip, label = as_videos[0]
    torch.manual_seed(3)
    reference, _ = as_frames[0]
    assert clip.shape == reference.shape == (4, 3, 32, 32) and label == 3
    torch.manual_seed(3)  # the dataset draws its sampling seed first, as FrameFolderDataset does
    expected = sampler.train(FRAMES, random.Random(int(torch.randint(2**62, (1,)))))
    assert levels(clip) == levels(reference) == expected


def test_the_list_decides_frames_or_videos_unless_data_layout_says(tmp_path):
    template = get_dataset("ssv2").template
    videos = [VideoRecord("a/1.webm", 1, 5, 0), VideoRecord("b/2.MP4", 1, 5, 0)]
    folders = [VideoRecord("a/1", 1, 5, 0)]
    assert storage_of(tmp_path, videos, None, template).layout == "videos"
    assert storage_of(tmp_path, folders, None, template).layout == "frames"
    assert storage_of(tmp_path, folders, "videos", template).layout == "videos"
    with pytest.raises(UserError, match="names both video files and frame folders"):
        storage_of(tmp_path / "val.txt", videos + folders, None, template)
    with pytest.raises(UserError, match="frame template 'frame.jpg'"):
        storage_of(tmp_path, folders, None, "frame.jpg")


def test_data_template_replaces_the_catalogs_in_the_plan():
    assert resolve(tiny_experiment(data__dataset="ssv2"), "t").data.template == \
        get_dataset("ssv2").template
    assert resolve(tiny_experiment(data__dataset="ssv2", data__template="{:06d}.png"),
                   "t").data.template == "{:06d}.png"


def test_converted_video_lists_load_through_the_video_dataset(tmp_path):
    annotations, root = tmp_path / "annotations", tmp_path / "diving48"
    annotations.mkdir()
    (annotations / "Diving48_vocab.json").write_text(json.dumps([["Back", "15som", "05Twis", "FREE"],
                                                                 ["Inward", "15som", "NoTwis", "TUCK"]]))
    for split, names in (("train", ["a_00001", "a_00002"]), ("test", ["b_00001"])):
        items = [{"vid_name": name, "label": number % 2, "start_frame": 0, "end_frame": 9}
                 for number, name in enumerate(names)]
        (annotations / f"Diving48_V2_{split}.json").write_text(json.dumps(items))
        for name in names:
            write_video(root / "rgb" / f"{name}.mp4", 9)
    convert("diving48", annotations, root / "rgb", root, progress=False)

    plan = resolve(tiny_experiment(data__dataset="diving48",
                                                         data__root=str(root), train__batch_size=2), "test")
    train_loader, val_loader = build_loaders(plan)
    dataset = val_loader.dataset
    while not isinstance(dataset, ClipDataset):  # under the loader's own wrappers
        dataset = dataset.dataset
    assert type(dataset) is VideoFileDataset
    clips, labels = next(iter(val_loader))
    assert clips.shape == (1, 1, 4, 3, 32, 32) and labels.tolist() == [0]
    clips, labels = next(iter(train_loader))
    assert clips.shape == (2, 4, 3, 32, 32) and sorted(labels.tolist()) == [0, 1]
