"""synthmotion: deterministic clips, exact time reversal within a pair, visible motion, and a
generator that writes complete, consistent datasets (or nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from torchvision.io import decode_jpeg, read_file

from actionbench.core.errors import UserError
from actionbench.data import synthmotion
from actionbench.data.annotations import read_list
from actionbench.data.synthmotion import CLASSES, SynthConfig, ensure, generate, render_clip

SEEDS = range(4)
TINY = SynthConfig(train_per_class=2, val_per_class=1, frames=8, size=32, seed=5)


def _bright(frame: np.ndarray) -> np.ndarray:
    """Shape pixels: the background is dark (max channel < ~110), the shape is not (> ~140)."""
    return frame.max(axis=-1) > 125


def _centroid(frame: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(_bright(frame))
    return np.array([xs.mean(), ys.mean()])


def _orientation(frame: np.ndarray) -> float:
    """Principal axis angle in image coordinates (y down): it grows when turning clockwise."""
    ys, xs = np.nonzero(_bright(frame))
    xs, ys = xs - xs.mean(), ys - ys.mean()
    return 0.5 * np.arctan2(2 * (xs * ys).mean(), (xs**2).mean() - (ys**2).mean())


def test_clip_shape_and_dtype() -> None:
    for label in range(len(CLASSES)):
        clip = render_clip(label, seed=1, frames=8, size=32)
        assert clip.shape == (8, 32, 32, 3)
        assert clip.dtype == np.uint8
        assert clip.flags.c_contiguous
    assert render_clip(0, seed=1).shape == (16, 64, 64, 3)


def test_same_seed_same_clip_different_seed_different_clip() -> None:
    for label in range(len(CLASSES)):
        assert np.array_equal(render_clip(label, 7), render_clip(label, 7))
        assert not np.array_equal(render_clip(label, 7), render_clip(label, 8))


@pytest.mark.parametrize("pair", range(len(CLASSES) // 2))
def test_odd_class_is_exact_time_reversal_of_even_class(pair: int) -> None:
    for seed in SEEDS:
        forward, backward = render_clip(2 * pair, seed), render_clip(2 * pair + 1, seed)
        assert np.array_equal(backward, forward[::-1])
        assert not np.array_equal(backward, forward)


def test_unknown_label() -> None:
    with pytest.raises(ValueError, match="label"):
        render_clip(len(CLASSES), seed=0)


@pytest.mark.parametrize("name, axis, sign", [
    ("move_left", 0, -1), ("move_right", 0, 1), ("move_up", 1, -1), ("move_down", 1, 1)])
def test_translation_covers_a_large_part_of_the_frame(name: str, axis: int, sign: int) -> None:
    for seed in SEEDS:
        clip = render_clip(CLASSES.index(name), seed)
        shift = _centroid(clip[-1]) - _centroid(clip[0])
        assert sign * shift[axis] > 0.35 * 64
        assert abs(shift[1 - axis]) < 1.0


@pytest.mark.parametrize("name, growing", [("grow", True), ("shrink", False)])
def test_size_changes_severalfold(name: str, growing: bool) -> None:
    for seed in SEEDS:
        clip = render_clip(CLASSES.index(name), seed)
        first, last = _bright(clip[0]).sum(), _bright(clip[-1]).sum()
        assert (last > 4 * first) if growing else (first > 4 * last)


@pytest.mark.parametrize("name, sign", [("rotate_cw", 1), ("rotate_ccw", -1)])
def test_rotation_turns_10_to_15_degrees_per_frame(name: str, sign: int) -> None:
    for seed in SEEDS:
        clip = render_clip(CLASSES.index(name), seed)
        angles = [_orientation(frame) for frame in clip]
        steps = np.rad2deg((np.diff(angles) + np.pi / 2) % np.pi - np.pi / 2)  # axis: mod 180
        assert 9.0 < sign * steps.mean() < 16.0
        assert np.all(sign * steps > 0)


@pytest.mark.parametrize("name, sign", [("fade_in", 1), ("fade_out", -1)])
def test_fade_changes_mean_intensity(name: str, sign: int) -> None:
    for seed in SEEDS:
        clip = render_clip(CLASSES.index(name), seed).astype(np.float64)
        means = clip.mean(axis=(1, 2, 3))
        assert sign * (means[-1] - means[0]) > 3.0
        assert _bright(clip[0 if sign > 0 else -1]).sum() == 0  # faint at the start of fade in


def test_the_shape_is_visible_and_stays_inside_the_frame() -> None:
    for label, name in enumerate(CLASSES):
        for seed in SEEDS:
            clip = render_clip(label, seed)
            if name.startswith("fade"):
                clip = clip[-1:] if name == "fade_in" else clip[:1]  # the opaque end only
            bright = _bright(clip)
            assert np.all(bright.sum(axis=(1, 2)) > 20)
            rim = np.concatenate([bright[:, 0], bright[:, -1], bright[:, :, 0], bright[:, :, -1]],
                                 axis=1)
            assert np.all(rim.mean(axis=1) < 0.1)


def test_generate_writes_a_complete_dataset(tmp_path: Path) -> None:
    root = tmp_path / "synth"
    generate(root, TINY, progress=False)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["synth"]  # no staging left
    assert (root / "classes.txt").read_text().splitlines() == list(CLASSES)
    assert json.loads((root / "synthmotion.json").read_text()) == {
        "format_version": synthmotion.FORMAT_VERSION,
        "config": {"train_per_class": 2, "val_per_class": 1, "frames": 8, "size": 32, "seed": 5}}

    for split, per_class in (("train", 2), ("val", 1)):
        records = read_list(root / f"{split}.txt", num_classes=len(CLASSES))
        assert records == read_list(root / f"{split}_start_end.txt", num_classes=len(CLASSES))
        assert (root / f"{split}_start_end.txt").read_text().splitlines()[0] == (
            f"frames/{split}/move_left/000000 1 8 0")
        assert [record.label for record in records] == [
            label for label in range(len(CLASSES)) for _ in range(per_class)]
        for record in records:
            assert record.path == f"frames/{split}/{CLASSES[record.label]}/{record.path[-6:]}"
            assert (record.start, record.num_frames) == (1, 8)
            names = sorted(entry.name for entry in (root / record.path).iterdir())
            assert names == [f"img_{number:05d}.jpg" for number in range(1, 9)]

    frame = decode_jpeg(read_file(str(root / "frames/train/grow/000001/img_00003.jpg")))
    assert tuple(frame.shape) == (3, 32, 32)

    def frame_bytes(video: str, number: int) -> bytes:
        return (root / "frames" / video / f"img_{number:05d}.jpg").read_bytes()

    for number in range(1, 9):  # the reversal holds on disk, byte for byte
        assert frame_bytes("train/move_right/000001", number) == frame_bytes(
            "train/move_left/000001", 9 - number)
    assert frame_bytes("train/move_left/000000", 1) != frame_bytes("val/move_left/000000", 1)
    assert frame_bytes("train/move_left/000000", 1) != frame_bytes("train/move_left/000001", 1)


def test_generate_is_deterministic(tmp_path: Path) -> None:
    contents = []
    for name in ("a", "b"):
        generate(tmp_path / name, TINY, progress=False)
        contents.append({path.relative_to(tmp_path / name): path.read_bytes()
                         for path in (tmp_path / name).rglob("*") if path.is_file()})
    assert len(contents[0]) == (2 + 1) * len(CLASSES) * 8 + 6  # frames, then lists and marker
    assert contents[0] == contents[1]


def test_ensure_generates_once_and_again_when_the_config_changes(tmp_path: Path) -> None:
    root = tmp_path / "synth"
    marker = root / "synthmotion.json"
    assert ensure(root, TINY, progress=False) is True
    stamp = marker.stat().st_mtime_ns
    assert ensure(root, TINY, progress=False) is False
    assert marker.stat().st_mtime_ns == stamp

    smaller = SynthConfig(train_per_class=1, val_per_class=1, frames=6, size=32, seed=5)
    assert ensure(root, smaller, progress=False) is True
    assert json.loads(marker.read_text())["config"]["frames"] == 6
    assert not (root / "frames/train/move_left/000001").exists()  # old copy fully replaced
    assert len(read_list(root / "train.txt")) == len(CLASSES)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["synth"]


def test_ensure_replaces_an_incomplete_copy(tmp_path: Path) -> None:
    root = tmp_path / "synth"
    (root / "frames/train").mkdir(parents=True)
    (root / "train.txt").write_text("half written\n")
    assert ensure(root, TINY, progress=False) is True
    assert len(read_list(root / "train.txt")) == 2 * len(CLASSES)


def test_ensure_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not a synthmotion folder"):
        ensure(tmp_path, TINY, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_interrupted_generation_leaves_nothing_behind(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    written = []

    def fail_after_three(folder: Path, frames: list[bytes]) -> None:
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(folder)

    monkeypatch.setattr(synthmotion, "_write_frames", fail_after_three)
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path / "synth", TINY, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("field, value", [
    ("train_per_class", 0), ("val_per_class", -1), ("frames", 1), ("size", 8), ("seed", -1)])
def test_invalid_config(tmp_path: Path, field: str, value: int) -> None:
    config = SynthConfig(**{field: value})
    with pytest.raises(UserError, match=f"{field} must be an integer >= "):
        generate(tmp_path / "synth", config, progress=False)
    assert not (tmp_path / "synth").exists()
