"""`data extract`: video files to folders of JPEG frames, the layout TSM, IBM and mmaction2
train on (decoding a JPEG is much cheaper than seeking in a compressed video).

Every video below --videos becomes a folder below --out at the same relative path, without
the file suffix and with whitespace turned into '_' (list files cannot hold it), holding
img_00001.jpg, img_00002.jpg, ...: frame i of the decoder is file i + 1, as `videos.py`
numbers frames, so the two layouts yield the same clips.

Resumable: a video is written into a hidden staging folder beside its final one, a marker
file with the settings is written last, and the folder is renamed into place. A folder with a
marker for the same settings is skipped; an interrupted extraction (a staging folder) or one
made with other settings is done again.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import av
import torch
from av.video.frame import VideoFrame
from torchvision.io import encode_jpeg

from ..core.atomic import write_json, write_text
from ..core.errors import SampleError, UserError
from .catalog import split_template
from .pool import run_parallel
from .videos import VIDEO_SUFFIXES, error_text, find_videos

MARKER = ".extracted.json"
"""Written last into a finished frame folder; hidden, so frame counting never sees it."""
FAILURES = "extract_failures.txt"


@dataclass(frozen=True)
class ExtractConfig:
    fps: float | None = None
    """At most this many frames per second (frames are dropped, never repeated); None: all."""
    short_side: int | None = None
    """Resize so that the shorter side has this many pixels; None: keep the size."""
    template: str = "img_{:05d}.jpg"
    quality: int = 95
    """JPEG quality; the reference scripts extract at ffmpeg's highest quality."""


@dataclass(frozen=True)
class ExtractReport:
    extracted: int
    skipped: int
    failed: dict[str, str]
    """Video path -> why it could not be extracted."""


def extract_all(videos: Path, out: Path, config: ExtractConfig = ExtractConfig(), jobs: int = 1,
                progress: bool = True) -> ExtractReport:
    """Extract every video below `videos` that has no finished folder below `out`."""
    _validate(config)
    videos, out = Path(videos), Path(out)
    if not videos.is_dir():
        raise UserError(f"--videos: folder '{videos}' not found")
    sources = find_videos(videos)
    if not sources:
        raise UserError(f"{videos}: no video files found (looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
    jobs_by_folder: dict[Path, Path] = {}
    for source in sources:
        folder = out / frame_folder(source.relative_to(videos))
        if folder in jobs_by_folder:
            raise UserError(f"{jobs_by_folder[folder]} and {source} would both be extracted to "
                            f"{folder}; rename one of them")
        jobs_by_folder[folder] = source
    pending = [(source, folder) for folder, source in jobs_by_folder.items()
               if not is_extracted(folder, config)]
    failed = {}
    for (source, _), problem in run_parallel(partial(_extract_or_reason, config=config), pending,
                                             jobs, "extract", progress):
        if problem is not None:
            failed[str(source)] = problem
    if failed:
        write_text(out / FAILURES, "".join(f"{source}\t{why}\n" for source, why in failed.items()))
    else:
        (out / FAILURES).unlink(missing_ok=True)
    return ExtractReport(len(pending) - len(failed), len(sources) - len(pending), failed)


def frame_folder(relative: Path) -> Path:
    """Where the frames of the video at `relative` (below --videos) go, below --out."""
    return Path(*(re.sub(r"\s+", "_", part) for part in relative.with_suffix("").parts))


def is_extracted(folder: Path, config: ExtractConfig) -> bool:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("config") == asdict(config)


def extract_video(source: Path, folder: Path, config: ExtractConfig) -> int:
    """Write the frames of `source` into `folder` (replacing it); returns the frame count."""
    staging = folder.parent / f".{folder.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        count = _write_frames(source, staging, config)
        write_json(staging / MARKER, {"config": asdict(config), "frames": count,
                                      "source": str(source)})
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def _write_frames(source: Path, staging: Path, config: ExtractConfig) -> int:
    count = 0
    try:
        with av.open(str(source)) as container:
            stream = container.streams.video[0]
            size = None
            for frame in _at_fps(container.decode(stream), config.fps):
                size = size or _output_size(frame.width, frame.height, config.short_side)
                image = frame.reformat(width=size[0], height=size[1], format="rgb24",
                                       interpolation="BICUBIC")
                pixels = torch.from_numpy(image.to_ndarray()).permute(2, 0, 1)
                count += 1
                data = encode_jpeg(pixels, quality=config.quality)
                (staging / config.template.format(count)).write_bytes(data.numpy().tobytes())
    except (av.error.FFmpegError, IndexError) as exc:
        raise SampleError(f"{source}: cannot decode video ({error_text(exc)})") from None
    if count == 0:
        raise SampleError(f"{source}: no frame could be decoded")
    return count


def _at_fps(frames: Iterable[VideoFrame], fps: float | None) -> Iterator[VideoFrame]:
    """Frame k of the output is the first frame at or after k / fps seconds from the start."""
    kept, start = 0, None
    for frame in frames:
        if fps is None or frame.time is None:
            yield frame
            continue
        start = frame.time if start is None else start
        if frame.time - start >= kept / fps - 1e-6:
            kept += 1
            yield frame


def _output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    if short_side is None:
        return width, height
    scale = short_side / min(width, height)
    return ((short_side, max(1, round(height * scale))) if width <= height
            else (max(1, round(width * scale)), short_side))


def _extract_or_reason(job: tuple[Path, Path], config: ExtractConfig) -> str | None:
    """For the worker pool: None when done, else why not (one bad video must not stop the rest)."""
    try:
        extract_video(*job, config)
    except (SampleError, OSError) as exc:
        return str(exc)
    return None


def _validate(config: ExtractConfig) -> None:
    split_template(config.template)
    if config.fps is not None and config.fps <= 0:
        raise UserError(f"--fps: must be > 0, got {config.fps}")
    if config.short_side is not None and config.short_side < 1:
        raise UserError(f"--short-side: must be >= 1, got {config.short_side}")
    if not 1 <= config.quality <= 100:
        raise UserError(f"--quality: must be 1..100, got {config.quality}")
