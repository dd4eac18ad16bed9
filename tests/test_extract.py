"""`data extract`: tiny generated videos to JPEG frame folders, in parallel and resumable."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import grey_level, write_video
from torchvision.io import decode_jpeg, read_file

from actionbench.cli import main
from actionbench.core.errors import UserError
from actionbench.data.extract import MARKER, ExtractConfig, extract_all


def frame_levels(folder: Path) -> list[int]:
    """The grey level of every frame of a folder, in file-name order."""
    return [round(decode_jpeg(read_file(str(path))).float().mean().item())
            for path in sorted(folder.glob("img_*.jpg"))]


def frame_size(path: Path) -> tuple[int, int]:
    height, width = decode_jpeg(read_file(str(path))).shape[-2:]
    return width, height


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    write_video(root / "a.mp4", 8)
    write_video(root / "class b" / "b.avi", 6, width=48, height=32)
    write_video(root / "c.webm", 5, codec="libvpx")
    return root


def test_every_video_becomes_a_folder_of_its_frames_in_order(videos, tmp_path):
    out = tmp_path / "frames"
    report = extract_all(videos, out, jobs=2, progress=False)
    assert (report.extracted, report.skipped, report.failed) == (3, 0, {})
    # 'class b' holds whitespace, which list files cannot: it becomes 'class_b'.
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("img_00001.jpg")) == [
        "a/img_00001.jpg", "c/img_00001.jpg", "class_b/b/img_00001.jpg"]
    for folder, count in (("a", 8), ("class_b/b", 6), ("c", 5)):
        assert frame_levels(out / folder) == pytest.approx([grey_level(i) for i in range(count)], abs=2)
        assert (out / folder / MARKER).is_file()
    assert frame_size(out / "class_b" / "b" / "img_00001.jpg") == (48, 32)


def test_a_second_run_skips_finished_videos_and_redoes_interrupted_ones(videos, tmp_path):
    out = tmp_path / "frames"
    extract_all(videos, out, progress=False)
    finished = (out / "a" / "img_00001.jpg").stat().st_mtime_ns
    # 'c' was interrupted: its staging folder is left over and its final folder has no marker.
    (out / "c" / MARKER).unlink()
    (out / ".c.partial").mkdir()
    (out / ".c.partial" / "img_00001.jpg").write_bytes(b"half")

    report = extract_all(videos, out, progress=False)

    assert (report.extracted, report.skipped) == (1, 2)
    assert (out / "a" / "img_00001.jpg").stat().st_mtime_ns == finished
    assert (out / "c" / MARKER).is_file() and not (out / ".c.partial").exists()
    assert len(list((out / "c").glob("img_*.jpg"))) == 5


def test_other_settings_extract_again_with_resize_and_frame_rate(videos, tmp_path):
    out = tmp_path / "frames"
    extract_all(videos, out, progress=False)
    report = extract_all(videos, out, ExtractConfig(fps=12.5, short_side=16), progress=False)
    assert (report.extracted, report.skipped) == (3, 0)
    # 25 fps sources at 12.5 fps: every other frame, starting with the first.
    assert frame_levels(out / "a") == pytest.approx([grey_level(i) for i in (0, 2, 4, 6)], abs=2)
    assert frame_size(out / "class_b" / "b" / "img_00001.jpg") == (24, 16)
    assert frame_size(out / "a" / "img_00001.jpg") == (16, 16)


def test_broken_videos_are_reported_and_the_others_extracted(videos, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="actionbench")
    (videos / "broken.mp4").write_bytes(b"not a video")
    out = tmp_path / "frames"
    assert main(["data", "extract", "--videos", str(videos), "--out", str(out), "-j", "1"]) == 1
    failures = (out / "extract_failures.txt").read_text().splitlines()
    assert len(failures) == 1 and failures[0].startswith(f"{videos / 'broken.mp4'}\t")
    assert "cannot decode video" in failures[0]
    assert not (out / "broken").exists() and (out / "a" / MARKER).is_file()
    assert "3 videos extracted, 0 already done, 1 failed" in caplog.text


def test_bad_options_are_user_errors(videos, tmp_path):
    with pytest.raises(UserError, match="frame template 'img.jpg'"):
        extract_all(videos, tmp_path / "x", ExtractConfig(template="img.jpg"))
    with pytest.raises(UserError, match="--short-side: must be >= 1, got 0"):
        extract_all(videos, tmp_path / "x", ExtractConfig(short_side=0))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no video files found"):
        extract_all(empty, tmp_path / "x")
