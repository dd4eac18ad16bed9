"""synthmotion: a small synthetic dataset that only a temporal model can solve.

Ten classes in five time-reversed pairs; class 2k+1 is class 2k played backwards, frame for
frame (`render_clip(2k + 1, seed)` is exactly `render_clip(2k, seed)[::-1]`). Both members of
a pair therefore show the very same set of frames, so an order-blind model (a per-frame
classifier whose scores are averaged over time) cannot tell them apart and stays near 50%
top-1, while a model that reasons over time can reach ~100%. The gap between the two is the
point of the dataset: it checks that a temporal module really uses frame order.

So that the order-blind model does reach ~50% (not ~10%), each pair draws its own kind of
shape, and the *pair* is recognisable from any single frame:

- move_left / move_right: a disc that travels 40-60% of the width
- move_up / move_down:    an axis-aligned square that travels 40-60% of the height
- grow / shrink:          a triangle whose size goes from ~15% to ~60% of the frame
- rotate_cw / rotate_ccw: an elongated bar turning 10-15 degrees per frame
- fade_in / fade_out:     a ring whose opacity goes from ~0.1 to 1

Everything else (colours, sizes, positions, a stripe or checker texture that moves with the
shape, a dark background with per-frame Gaussian noise) is drawn from the clip's seed, so
appearance carries no information beyond the pair. Drawing is vectorised over all frames
with coordinate grids and 1-pixel anti-aliased edges from signed distances.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.io import encode_jpeg
from tqdm import tqdm

from ..core.atomic import write_json
from ..core.errors import UserError
from .annotations import VideoRecord, write_list

CLASSES: tuple[str, ...] = (
    "move_left", "move_right", "move_up", "move_down", "grow", "shrink",
    "rotate_cw", "rotate_ccw", "fade_in", "fade_out",
)
FORMAT_VERSION = 1
"""Bump when the rendering or the layout changes, so `ensure` regenerates old copies."""
MARKER = "synthmotion.json"
TEMPLATE = "img_{:05d}.jpg"
JPEG_QUALITY = 90
SPLITS = ("train", "val")
_LAYOUT = frozenset({"frames", "classes.txt", MARKER}
                    | {f"{split}{suffix}.txt" for split in SPLITS for suffix in ("", "_start_end")})
"""Every name `generate` puts in the root: a folder holding only these may be replaced."""


@dataclass(frozen=True)
class SynthConfig:
    train_per_class: int = 48
    val_per_class: int = 16
    frames: int = 16
    size: int = 64
    seed: int = 0


# ---------------------------------------------------------------------------------------------
# Rendering

ShapeFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""Signed distance in pixels (negative inside) from shape-local coordinates u, v and radius."""


@dataclass(frozen=True)
class _Pose:
    """Per-frame placement of the shape; every field has shape (T,)."""
    cx: np.ndarray
    cy: np.ndarray
    angle: np.ndarray
    radius: np.ndarray
    alpha: np.ndarray


def render_clip(label: int, seed: int, frames: int = 16, size: int = 64) -> np.ndarray:
    """A (frames, size, size, 3) uint8 clip of class `label`.

    An odd label is the reversal of the forward clip drawn from the same seed, noise included,
    which is what makes the two members of a pair indistinguishable frame by frame.
    """
    if not 0 <= label < len(CLASSES):
        raise ValueError(f"render_clip: label must be 0..{len(CLASSES) - 1}, got {label}")
    clip = _render_forward(label // 2, seed, frames, size)
    return np.ascontiguousarray(clip[::-1]) if label % 2 else clip


def _render_forward(pair: int, seed: int, frames: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    progress = np.linspace(0.0, 1.0, frames, dtype=np.float32)
    pose, shape = _SCENES[pair](rng, progress, float(size))

    grid = np.arange(size, dtype=np.float32) + 0.5  # pixel centres
    dx = grid[None, None, :] - pose.cx[:, None, None]
    dy = grid[None, :, None] - pose.cy[:, None, None]
    cos, sin = np.cos(pose.angle)[:, None, None], np.sin(pose.angle)[:, None, None]
    u, v = dx * cos + dy * sin, dy * cos - dx * sin  # (T, H, W), in the shape's own frame
    coverage = np.clip(0.5 - shape(u, v, pose.radius[:, None, None]), 0.0, 1.0)
    coverage *= pose.alpha[:, None, None]

    colour = rng.uniform(0.35, 1.0, 3).astype(np.float32)
    colour[rng.integers(3)] = 1.0  # at least one saturated channel: always stands out
    contrast = rng.uniform(0.25, 0.45)
    fill = colour * (1.0 - contrast * _texture(rng, u, v, size))[..., None]

    base = rng.uniform(0.0, 0.3, 3).astype(np.float32)
    noise = rng.standard_normal((frames, size, size, 3), dtype=np.float32)
    background = base + np.float32(rng.uniform(0.015, 0.03)) * noise
    image = background + coverage[..., None] * (fill - background)
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _texture(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, size: int) -> np.ndarray:
    """Stripes or a checker in shape coordinates, so the pattern travels and turns with it."""
    period = rng.uniform(0.08, 0.16) * size
    if rng.random() < 0.5:
        direction = rng.uniform(0.0, np.pi)
        phase = (u * np.cos(direction) + v * np.sin(direction)) / period + rng.random()
        return (phase % 1.0 < 0.5).astype(np.float32)
    cell = period / 2
    return ((np.floor(u / cell) + np.floor(v / cell)) % 2).astype(np.float32)


def _constant(value: float, like: np.ndarray) -> np.ndarray:
    return np.full_like(like, value)


def _disc(u: np.ndarray, v: np.ndarray, radius: np.ndarray) -> np.ndarray:
    return np.hypot(u, v) - radius


def _square(u: np.ndarray, v: np.ndarray, radius: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) - radius


def _triangle(u: np.ndarray, v: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Equilateral with circumradius `radius`: three edges at the inradius, radius / 2."""
    normals = [2 * np.pi * k / 3 for k in range(3)]
    edges = [u * np.cos(a) + v * np.sin(a) for a in normals]
    return np.maximum(np.maximum(edges[0], edges[1]), edges[2]) - radius / 2


def _horizontal(rng: np.random.Generator, t: np.ndarray, size: float) -> tuple[_Pose, ShapeFn]:
    """Forward is move_left: a disc travelling from right to left."""
    radius = rng.uniform(0.10, 0.15) * size
    travel = rng.uniform(0.40, 0.60) * size
    left = rng.uniform(radius, size - radius - travel)
    pose = _Pose(cx=left + travel * (1.0 - t), cy=_constant(rng.uniform(radius, size - radius), t),
                 angle=_constant(rng.uniform(0.0, 2 * np.pi), t), radius=_constant(radius, t),
                 alpha=_constant(1.0, t))
    return pose, _disc


def _vertical(rng: np.random.Generator, t: np.ndarray, size: float) -> tuple[_Pose, ShapeFn]:
    """Forward is move_up: a square travelling from bottom to top (image y grows downwards)."""
    radius = rng.uniform(0.09, 0.14) * size
    travel = rng.uniform(0.40, 0.60) * size
    top = rng.uniform(radius, size - radius - travel)
    pose = _Pose(cx=_constant(rng.uniform(radius, size - radius), t), cy=top + travel * (1.0 - t),
                 angle=_constant(0.0, t), radius=_constant(radius, t), alpha=_constant(1.0, t))
    return pose, _square


def _grow(rng: np.random.Generator, t: np.ndarray, size: float) -> tuple[_Pose, ShapeFn]:
    """Forward is grow: a triangle whose side goes from ~15% to ~60% of the frame."""
    start, end = rng.uniform(0.08, 0.10) * size, rng.uniform(0.32, 0.36) * size
    pose = _Pose(cx=_constant(rng.uniform(end, size - end), t),
                 cy=_constant(rng.uniform(end, size - end), t),
                 angle=_constant(rng.uniform(0.0, 2 * np.pi), t), radius=start + (end - start) * t,
                 alpha=_constant(1.0, t))
    return pose, _triangle


def _rotate(rng: np.random.Generator, t: np.ndarray, size: float) -> tuple[_Pose, ShapeFn]:
    """Forward is rotate_cw: a bar whose angle grows, clockwise on screen as y points down.

    The step is per frame (not per clip) and stays far below 90 degrees even when only every
    other frame is sampled, because a bar looks the same after half a turn.
    """
    radius = rng.uniform(0.28, 0.36) * size
    half_width = radius * rng.uniform(0.18, 0.28)
    step = np.deg2rad(rng.uniform(10.0, 15.0))
    frame = np.arange(len(t), dtype=np.float32)
    pose = _Pose(cx=_constant(rng.uniform(0.42, 0.58) * size, t),
                 cy=_constant(rng.uniform(0.42, 0.58) * size, t),
                 angle=rng.uniform(0.0, np.pi) + step * frame, radius=_constant(radius, t),
                 alpha=_constant(1.0, t))
    return pose, lambda u, v, r: np.maximum(np.abs(u) - r, np.abs(v) - half_width)


def _fade(rng: np.random.Generator, t: np.ndarray, size: float) -> tuple[_Pose, ShapeFn]:
    """Forward is fade_in: a ring whose opacity rises from ~0.1 to 1."""
    radius = rng.uniform(0.18, 0.26) * size
    inner = rng.uniform(0.50, 0.65)
    opacity = rng.uniform(0.05, 0.15)
    pose = _Pose(cx=_constant(rng.uniform(radius, size - radius), t),
                 cy=_constant(rng.uniform(radius, size - radius), t),
                 angle=_constant(rng.uniform(0.0, 2 * np.pi), t), radius=_constant(radius, t),
                 alpha=opacity + (1.0 - opacity) * t)
    return pose, lambda u, v, r: np.abs(np.hypot(u, v) - r * (1 + inner) / 2) - r * (1 - inner) / 2


_SCENES = (_horizontal, _vertical, _grow, _rotate, _fade)
"""Indexed by pair k = label // 2; each draws the forward clip of class 2k."""


# ---------------------------------------------------------------------------------------------
# Writing the dataset

def generate(root: Path, config: SynthConfig = SynthConfig(), progress: bool = True) -> None:
    """Write the dataset into a sibling staging folder and swap it into `root` at the end, so
    an interrupted run never leaves a partial dataset where a complete one is expected."""
    _validate(config)
    root = Path(root)
    if root.exists() and not _replaceable(root):
        raise UserError(f"{root}: exists and is not a synthmotion folder; refusing to replace it "
                        f"(expected no folder, an empty one or an earlier synthmotion output)")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.", suffix=".partial"))
    try:
        _write(staging, config, progress)
        _swap(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def ensure(root: Path, config: SynthConfig = SynthConfig(), progress: bool = True) -> bool:
    """Generate unless `root` already holds exactly this config; True if it generated."""
    if _read_marker(Path(root) / MARKER) == _marker(config):
        return False
    generate(root, config, progress)
    return True


def is_complete(root: Path) -> bool:
    """A finished copy of the current format, whatever config made it: a run uses what
    `data synth` wrote rather than regenerating it with the defaults."""
    marker = _read_marker(Path(root) / MARKER)
    return marker is not None and marker.get("format_version") == FORMAT_VERSION


def _write(folder: Path, config: SynthConfig, progress: bool) -> None:
    pairs = len(CLASSES) // 2
    counts = {"train": config.train_per_class, "val": config.val_per_class}
    bar = tqdm(total=len(CLASSES) * sum(counts.values()), desc="synthmotion", unit="video",
               disable=not progress)
    with bar:
        for split, per_class in counts.items():
            records: list[list[VideoRecord]] = [[] for _ in CLASSES]
            for pair in range(pairs):
                for index in range(per_class):
                    clip = render_clip(2 * pair, _clip_seed(config.seed, split, pair, index),
                                       config.frames, config.size)
                    jpegs = _encode(clip)
                    # The reversed class reuses the encoded frames, so the reversal is exact on
                    # disk too (and costs no second render or encode).
                    for label, frames in ((2 * pair, jpegs), (2 * pair + 1, jpegs[::-1])):
                        path = f"frames/{split}/{CLASSES[label]}/{index:06d}"
                        _write_frames(folder / path, frames)
                        records[label].append(VideoRecord(path, 1, config.frames, label))
                    bar.update(2)
            ordered = [record for per_label in records for record in per_label]
            write_list(folder / f"{split}.txt", ordered)
            write_list(folder / f"{split}_start_end.txt", ordered, fmt="start_end")
    (folder / "classes.txt").write_text("".join(f"{name}\n" for name in CLASSES))
    write_json(folder / MARKER, _marker(config))  # last: its presence means "complete"


def _clip_seed(seed: int, split: str, pair: int, index: int) -> int:
    """Independent streams per (seed, split, pair, video) so that train and val never share a
    clip and pairs do not share colours; both members of a pair use the same stream."""
    entropy = [seed, SPLITS.index(split), pair, index]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0])


def _encode(clip: np.ndarray) -> list[bytes]:
    frames = torch.from_numpy(clip).permute(0, 3, 1, 2).contiguous()
    return [data.numpy().tobytes() for data in encode_jpeg(list(frames), quality=JPEG_QUALITY)]


def _write_frames(folder: Path, frames: list[bytes]) -> None:
    folder.mkdir(parents=True)
    for number, data in enumerate(frames, start=1):
        (folder / TEMPLATE.format(number)).write_bytes(data)


def _swap(staging: Path, root: Path) -> None:
    """Move the old copy aside before renaming the new one in: a folder can only be renamed
    over an empty one, and this keeps the window without a dataset to two renames."""
    if not root.exists():
        os.replace(staging, root)
        return
    old = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.", suffix=".old"))
    os.replace(root, old)
    os.replace(staging, root)
    shutil.rmtree(old)


def _replaceable(root: Path) -> bool:
    """Only a folder holding nothing but synthmotion's own files may be deleted: `--out`
    pointed at the wrong folder must not wipe it."""
    return root.is_dir() and all(entry.name in _LAYOUT for entry in root.iterdir())


def _marker(config: SynthConfig) -> dict:
    return {"format_version": FORMAT_VERSION, "config": asdict(config)}


def _read_marker(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _validate(config: SynthConfig) -> None:
    minimum = {"train_per_class": 1, "val_per_class": 1, "frames": 2, "size": 16, "seed": 0}
    for field, least in minimum.items():
        value = getattr(config, field)
        if not isinstance(value, int) or value < least:
            raise UserError(f"synthmotion config: {field} must be an integer >= {least}, "
                            f"got {value!r}")
