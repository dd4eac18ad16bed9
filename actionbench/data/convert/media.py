"""Finding the videos that annotations name, and counting their frames.

Datasets are laid out in many ways (one flat folder, per-class folders, train/ and val/
folders, the official archives' own folder names), so rather than guess a path per dataset,
the root is walked once and every frame folder or video file is indexed by its name: the
folder name, or the file name without suffix. A name found twice is reported as ambiguous,
never resolved by chance.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ...core.errors import UserError
from ..catalog import Layout, split_template
from ..videos import count_frames, is_video


@dataclass(frozen=True)
class Media:
    path: Path
    frames: int | None
    """Frame count where the index knows it (frame folders); None for video files."""
    problem: str | None = None
    """Why the frames cannot be used as they are (e.g. numbering with gaps)."""


def index_media(root: Path, layout: Layout, template: str) -> dict[str, list[Media]]:
    """Name -> every frame folder (layout 'frames') or video file ('videos') of that name
    below `root`. Hidden folders are skipped (extraction staging areas)."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"--root: folder '{root}' not found")
    prefix, suffix = split_template(template)
    frame_name = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + "$")
    index: dict[str, list[Media]] = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        if layout == "videos":
            for name in files:
                if is_video(name):
                    path = Path(folder) / name
                    index.setdefault(path.stem, []).append(Media(path, None))
            continue
        numbers = [int(match.group(1)) for match in map(frame_name.match, files) if match]
        if numbers:
            subfolders[:] = []  # a frame folder holds frames, not further videos
            path = Path(folder)
            index.setdefault(path.name, []).append(Media(path, len(numbers),
                                                         _numbering_problem(numbers, template)))
    return index


NUMBERED_IMAGE = re.compile(r"^(\D*?)(\d+)(\.(?:jpg|jpeg|png))$", re.IGNORECASE)


def infer_template(root: Path) -> str | None:
    """The frame-file template of the first folder below `root` that holds numbered images
    ('000001.jpg' -> '{:06d}.jpg', 'img_00001.jpg' -> 'img_{:05d}.jpg'), or None."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        matches = [match for match in map(NUMBERED_IMAGE.match, sorted(files)) if match]
        if matches:
            prefix, digits, suffix = matches[0].groups()
            padded = all(len(match.group(2)) == len(digits) for match in matches)
            return f"{prefix}{{:0{len(digits)}d}}{suffix}" if padded else f"{prefix}{{:d}}{suffix}"
    return None


def _numbering_problem(numbers: list[int], template: str) -> str | None:
    if min(numbers) == 1 and max(numbers) == len(numbers):
        return None
    return (f"frames are not numbered 1..{len(numbers)} without gaps (found "
            f"{template.format(min(numbers))} to {template.format(max(numbers))})")


def frames_or_problem(path: Path) -> int | str:
    """A video's frame count, or why it cannot be read (for the worker pool)."""
    try:
        count = count_frames(path)
    except UserError as exc:
        return str(exc)
    return count if count > 0 else f"{path}: no video frames"
