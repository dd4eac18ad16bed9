"""Annotation lists: the three layouts round-trip, and every bad line is reported with its
file and line number."""

from __future__ import annotations

from pathlib import Path

import pytest

from actionbench.core.errors import UserError
from actionbench.data.annotations import VideoRecord, drop_short, read_list, write_list


def test_num_frames_format_round_trips(tmp_path: Path) -> None:
    records = [VideoRecord("videos/a", 1, 12, 0), VideoRecord("videos/b", 1, 30, 7)]
    path = tmp_path / "train.txt"
    write_list(path, records)
    assert path.read_text() == "videos/a 12 0\nvideos/b 30 7\n"
    assert read_list(path, num_classes=8) == records


def test_start_end_format_round_trips(tmp_path: Path) -> None:
    records = [VideoRecord("a", 5, 10, 3), VideoRecord("b", 0, 1, 0)]
    path = tmp_path / "val.txt"
    write_list(path, records, fmt="start_end")
    assert path.read_text() == "a 5 14 3\nb 0 0 0\n"  # end is inclusive
    assert read_list(path) == records


def test_unlabelled_test_list_round_trips(tmp_path: Path) -> None:
    records = [VideoRecord("x", 1, 4, None), VideoRecord("y", 1, 9, None)]
    path = tmp_path / "test.txt"
    write_list(path, records)
    assert path.read_text() == "x 4\ny 9\n"
    assert read_list(path, num_classes=2) == records


def test_blank_lines_and_mixed_whitespace_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("\n  a\t3   1  \n\n\nb 2 0\n   \n")
    assert read_list(path) == [VideoRecord("a", 1, 3, 1), VideoRecord("b", 1, 2, 0)]


def test_write_list_replaces_the_file_without_leaving_temporaries(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text("old 1 0\n")
    write_list(path, [VideoRecord("new", 1, 2, 1)])
    assert path.read_text() == "new 2 1\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["train.txt"]


@pytest.mark.parametrize("content, line, fragments", [
    ("a 12 0\n\nb 12\n", 3, ["expected 3 columns 'path num_frames label' like line 1", "got 2",
                             "'b 12'"]),
    ("\na 1 5 0\nb 1 5 0 extra\n", 3, ["expected 4 columns", "like line 2", "got 5"]),
    ("a 1 2 3 4\n", 1, ["got 5", "'path num_frames label'"]),
    ("only_a_path\n", 1, ["got 1"]),
    ("a 12 0\nb twelve 1\n", 2, ["num_frames must be an integer", "'twelve'"]),
    ("a 12 zero\n", 1, ["label must be an integer", "'zero'"]),
    ("a 1 9.5 0\n", 1, ["end must be an integer", "'9.5'"]),
    ("a 12 0\nb 0 1\n", 2, ["num_frames must be >= 1", "got 0"]),
    ("a 7 3 1\n", 1, ["end must be >= start (7)", "got 3"]),
    ("a -2 3 1\n", 1, ["start must be >= 0", "got -2"]),
    ("a 5 -1\n", 1, ["label must be 0..9", "got -1"]),
    ("a 5 1\nb 5 10\n", 2, ["label must be 0..9", "got 10", "'b 5 10'"]),
])
def test_bad_lines_name_file_line_and_expectation(tmp_path: Path, content: str, line: int,
                                                  fragments: list[str]) -> None:
    path = tmp_path / "data" / "train.txt"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(UserError) as error:
        read_list(path, num_classes=10)
    message = str(error.value)
    assert message.startswith(f"{path}:{line}: ")
    for fragment in fragments:
        assert fragment in message


def test_negative_label_is_rejected_without_num_classes(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text("a 5 -1\n")
    with pytest.raises(UserError, match=r"train\.txt:1: label must be >= 0"):
        read_list(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(UserError, match=r"nope\.txt: annotation list not found"):
        read_list(path)


def test_empty_list(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("\n   \n")
    with pytest.raises(UserError, match=r"empty\.txt: annotation list is empty"):
        read_list(path)


@pytest.mark.parametrize("records, fmt, fragment", [
    ([VideoRecord("has space", 1, 3, 0)], "num_frames", "whitespace"),
    ([VideoRecord("tab\there", 1, 3, 0)], "num_frames", "whitespace"),
    ([VideoRecord("a", 1, 3, 0), VideoRecord("b", 1, 3, None)], "num_frames", "some records"),
    ([VideoRecord("a", 4, 3, 0)], "num_frames", "starts at frame 4"),
    ([VideoRecord("a", 1, 3, None)], "start_end", "needs one"),
    ([], "num_frames", "no records"),
])
def test_write_list_refuses_what_the_format_cannot_hold(tmp_path: Path, records, fmt,
                                                        fragment: str) -> None:
    path = tmp_path / "out.txt"
    with pytest.raises(ValueError, match=fragment):
        write_list(path, records, fmt=fmt)
    assert not path.exists()


def test_ibm_semicolon_lists_keep_spaces_in_paths(tmp_path: Path) -> None:
    # IBM's tools/extract_videos_kinetics.py writes 'path;1;frames;label', with class folders
    # such as 'playing guitar'
    path = tmp_path / "train.txt"
    path.write_text("images/train/playing guitar/abc_000010_000020;1;300;3\n"
                    "images/train/abseiling/xyz_000000_000010 ; 1 ; 250 ; 0\n")
    assert read_list(path, num_classes=400) == [
        VideoRecord("images/train/playing guitar/abc_000010_000020", 1, 300, 3),
        VideoRecord("images/train/abseiling/xyz_000000_000010", 1, 250, 0)]


def test_ibm_semicolon_test_list_has_start_and_end_but_no_label(tmp_path: Path) -> None:
    path = tmp_path / "test.txt"
    path.write_text("images/test/abc_000010_000020;1;300\n")
    assert read_list(path) == [VideoRecord("images/test/abc_000010_000020", 1, 300, None)]


@pytest.mark.parametrize("content, line, fragments", [
    ("a;1;30;2\nb 30 2\n", 2, ["expected 4 columns 'path;start;end;label' like line 1", "got 1"]),
    ("a;1;30;2;5\n", 1, ["expected 3 ('path;start;end') or 4 ('path;start;end;label')", "got 5"]),
    ("a;1;thirty;2\n", 1, ["end must be an integer", "'thirty'"]),
    (";1;30;2\n", 1, ["path is empty"]),
    ("a;1;30;400\n", 1, ["label must be 0..9", "got 400"]),
])
def test_bad_semicolon_lines_name_file_line_and_expectation(tmp_path: Path, content: str, line: int,
                                                             fragments: list[str]) -> None:
    path = tmp_path / "train.txt"
    path.write_text(content)
    with pytest.raises(UserError) as error:
        read_list(path, num_classes=10)
    assert str(error.value).startswith(f"{path}:{line}: ")
    for fragment in fragments:
        assert fragment in str(error.value)


def test_drop_short_splits_by_frame_count_in_list_order() -> None:
    records = [VideoRecord("a", 1, 2, 0), VideoRecord("b", 1, 3, 1), VideoRecord("c", 5, 29, 0),
               VideoRecord("d", 1, 30, 2)]
    assert drop_short(records, 3) == (records[1:], records[:1])  # TSM, GST, IBM Something
    assert drop_short(records, 30) == (records[3:], records[:3])  # IBM Kinetics
    assert drop_short(records, 1) == (records, [])  # the default keeps every video


def test_a_byte_order_mark_is_not_part_of_the_first_path(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_bytes(b"\xef\xbb\xbfframes/a 8 0\r\nframes/b 8 1\r\n")  # as Windows editors write it
    assert [record.path for record in read_list(path)] == ["frames/a", "frames/b"]
