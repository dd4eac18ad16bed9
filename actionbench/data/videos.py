"""A dataset of videos stored as files (mp4, webm, avi, ...), decoded clip by clip.

Same items, samplers and transforms as `FrameFolderDataset`; only where the frames come from
differs. Decoding uses torchcodec when it is installed (its exact mode indexes frames from a
scan of the file) and PyAV otherwise. Frame i of a video is the i-th frame its decoder
outputs, counted from 0, so a video and the folder `data extract` makes of it (img_00001.jpg
= frame 0) yield the same clips.

PyAV decodes only up to the last frame a clip needs, and seeks to the keyframe before the
first one when that is far into the video (dense sampling of a long video); frame numbers
after a seek are computed from the timestamps, which assumes a constant frame rate, as the
datasets' videos have.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import torch

from ..core.errors import SampleError
from .annotations import VideoRecord
from .clip_dataset import ClipDataset, one_size

VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".avi", ".mkv", ".mov", ".m4v", ".flv", ".mpg",
                            ".mpeg", ".ogv", ".wmv", ".3gp"})
SEEK_AFTER = 32
"""Seek only when the first wanted frame is at least this far in; nearer the start, decoding
from the beginning costs about as much as decoding from the keyframe a seek lands on."""
_use_torchcodec = True
"""Cleared in a process once torchcodec fails on a video that PyAV decodes: torchcodec imports
without the FFmpeg libraries it needs (they are not bundled) and fails only when decoding."""


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def error_text(exc: BaseException) -> str:
    """A decoder exception as a message part (some have no text)."""
    return str(exc).strip() or type(exc).__name__


def find_videos(root: Path) -> list[Path]:
    """Every video file below `root`, sorted; hidden folders (staging areas) are skipped."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        found += [Path(folder) / name for name in sorted(files) if is_video(name)]
    return found


def count_frames(path: Path) -> int:
    """Frames in the first video stream: the container's count where it keeps one (mp4, avi),
    else the number of video packets (webm keeps none), which needs demuxing but no decoding."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.frames:
                return stream.frames
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise SampleError(f"{path}: cannot read video ({error_text(exc)})") from None


def decode_video(path: Path, indices: Sequence[int]) -> dict[int, torch.Tensor]:
    """{index: (C, H, W) uint8 frame} for the 0-based frame `indices` of the video at `path`.

    An index past the last decodable frame gets the last frame: a container's frame count
    (what `data convert` writes in the list) can promise a frame or two more than the decoder
    delivers.
    """
    global _use_torchcodec
    if not indices:
        return {}
    if not Path(path).is_file():
        raise SampleError(f"{path}: video file not found")
    wanted = sorted(set(indices))
    decoder = _torchcodec_decoder() if _use_torchcodec else None
    if decoder is not None:
        try:
            return _decode_torchcodec(decoder, path, wanted)
        except (RuntimeError, ValueError, IndexError):
            pass  # PyAV decides whether the file is broken, and names the problem
    try:
        frames = _decode_pyav(path, wanted)
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise SampleError(f"{path}: cannot decode video ({error_text(exc)})") from None
    if not frames:
        raise SampleError(f"{path}: no frame could be decoded")
    if decoder is not None:
        _use_torchcodec = False  # it failed where PyAV did not
    return frames


def video_problem(root: Path, record: VideoRecord) -> str | None:
    """Why `record` cannot be read, found without decoding (the counterpart of
    `frames.frame_problem`): a missing file."""
    path = Path(root) / record.path
    return None if path.is_file() else f"video file {path} not found"


class VideoFileDataset(ClipDataset):
    """Videos as files, each clip's frames decoded from the file the record's path names."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._views: tuple[VideoRecord, dict[int, torch.Tensor]] | None = None

    def load(self, record: VideoRecord, offsets: list[int]) -> torch.Tensor:
        indices = [record.start - 1 + offset for offset in offsets]
        path = self.root / record.path
        if self.train:
            frames = decode_video(path, indices)
        else:
            frames = self._test_frames(record)
            frames.update(decode_video(path, [index for index in indices if index not in frames]))
        return torch.stack(one_size([frames[index] for index in indices]))

    def _test_frames(self, record: VideoRecord) -> dict[int, torch.Tensor]:
        """The frames of every test view, decoded in one pass when the first view is loaded
        and kept until the next video, instead of one decode per view."""
        if self._views is None or self._views[0] is not record:
            views = self.sampler.test(record.num_frames)
            indices = [record.start - 1 + offset for view in views for offset in view]
            self._views = (record, decode_video(self.root / record.path, indices))
        return self._views[1]


def _decode_pyav(path: Path, wanted: list[int]) -> dict[int, torch.Tensor]:
    frames: dict[int, torch.Tensor] = {}
    needed = set(wanted)
    last = None
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for index, frame in _numbered_frames(container, stream, wanted[0]):
            if index in needed:
                frames[index] = _to_tensor(frame)
            last = frame
            if index >= wanted[-1]:
                break
        if last is not None and len(frames) < len(wanted):
            tail = _to_tensor(last)
            frames.update({index: tail for index in wanted if index not in frames})
    return frames


def _numbered_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                     first: int) -> Iterator[tuple[int, av.video.frame.VideoFrame]]:
    """(frame index, frame) from frame `first` or earlier on, seeking where worthwhile."""
    rate, base = stream.average_rate, stream.time_base
    if first >= SEEK_AFTER and rate and base:
        start = stream.start_time or 0
        container.seek(start + int(first / rate / base), stream=stream, backward=True)
        decoded = container.decode(stream)
        head = next(decoded, None)
        if head is not None and head.pts is not None:
            index = round((head.pts - start) * base * rate)
            if index <= first:  # landed on a keyframe at or before the first wanted frame
                yield index, head
                for frame in decoded:
                    index = index + 1 if frame.pts is None else round((frame.pts - start) * base * rate)
                    yield index, frame
                return
        container.seek(0)  # overshot, or no timestamps: decode from the start
    yield from enumerate(container.decode(stream))


def _to_tensor(frame: av.video.frame.VideoFrame) -> torch.Tensor:
    return torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1)


@functools.cache
def _torchcodec_decoder():
    """torchcodec's VideoDecoder class, or None when it is not installed or its FFmpeg
    libraries do not load (it raises at import then); looked up once per process."""
    try:
        from torchcodec.decoders import VideoDecoder
    except (ImportError, RuntimeError, OSError):
        return None
    return VideoDecoder


def _decode_torchcodec(decoder_class, path: Path, wanted: list[int]) -> dict[int, torch.Tensor]:
    decoder = decoder_class(str(path), seek_mode="exact")
    count = len(decoder)
    batch = decoder.get_frames_at(indices=[min(index, count - 1) for index in wanted])
    return dict(zip(wanted, batch.data))
