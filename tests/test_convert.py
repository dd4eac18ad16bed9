"""`data convert`: each official annotation format, written here in miniature, to our lists.

Every test checks the lists line by line: paths, frame counts, labels, and the label order of
the dataset's reference convention (see each converter's docstring).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_video

from actionbench.cli import main
from actionbench.core.errors import UserError
from actionbench.data.annotations import read_list
from actionbench.data.convert.pipeline import convert


def frame_folder(folder: Path, count: int, template: str = "img_{:05d}.jpg") -> None:
    folder.mkdir(parents=True)
    for number in range(1, count + 1):
        (folder / template.format(number)).write_bytes(b"")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def run(tmp_path: Path, dataset: str, **options):
    """Convert with annotations in tmp/ann, media in tmp/out/media, lists into tmp/out."""
    return convert(dataset, tmp_path / "ann", tmp_path / "out" / "media", tmp_path / "out",
                   progress=False, **options)


@pytest.mark.parametrize("dataset, prefix", [("ssv1", "something-something-v1"),
                                             ("jester", "jester-v1")])
def test_20bn_csv_labels_are_the_sorted_class_names(tmp_path, dataset, prefix):
    ann, media = tmp_path / "ann", tmp_path / "out" / "media"
    # Deliberately unsorted, as the real files are: TRN/TSM sort them.
    write(ann / f"{prefix}-labels.csv", "Swiping Right\nDoing other things\nSwiping Left\n")
    write(ann / f"{prefix}-train.csv", "11;Swiping Left\n12;Doing other things\n")
    write(ann / f"{prefix}-validation.csv", "21;Swiping Right\n22;Swiping Left\n")
    write(ann / f"{prefix}-test.csv", "31\n")
    for video, count in {"11": 3, "12": 5, "21": 4, "31": 2}.items():
        frame_folder(media / "20bn" / video, count, "{:05d}.jpg")

    report = run(tmp_path, dataset)

    out = tmp_path / "out"
    assert lines(out / "classes.txt") == ["Doing other things", "Swiping Left", "Swiping Right"]
    assert lines(out / "train.txt") == ["media/20bn/11 3 1", "media/20bn/12 5 0"]
    assert lines(out / "val.txt") == ["media/20bn/21 4 2"]
    assert lines(out / "test.txt") == ["media/20bn/31 2"]
    assert lines(out / "missing.txt") == [
        f"val\t22\tno frame folder named '22' below {media}"]
    assert [(row.split, row.entries, row.written) for row in report.splits] == [
        ("train", 2, 2), ("val", 2, 1), ("test", 1, 1)]
    assert report.missing == 1


def test_ssv2_label_is_the_labels_json_index_of_the_bracketless_template(tmp_path):
    ann, media = tmp_path / "ann", tmp_path / "out" / "media"
    labels = {"Putting something on a surface": "0", "Holding something": "1",
              "Pushing something from left to right": "2"}
    write(ann / "something-something-v2-labels.json", json.dumps(labels))
    write(ann / "something-something-v2-train.json", json.dumps([
        {"id": "7", "label": "pushing a cup from left to right",
         "template": "Pushing [something] from left to right", "placeholders": ["a cup"]},
        {"id": "8", "label": "putting a pen on a surface",
         "template": "Putting [something] on a surface", "placeholders": ["a pen"]}]))
    write(ann / "something-something-v2-validation.json", json.dumps([
        {"id": "9", "label": "holding a pen", "template": "Holding [something]",
         "placeholders": ["a pen"]}]))
    write(ann / "something-something-v2-test.json", json.dumps([{"id": "10"}]))
    # V2 ships webm videos, whose containers keep no frame count: the packets are counted.
    for video, count in {"7": 5, "8": 3, "9": 4, "10": 2}.items():
        write_video(media / f"{video}.webm", count, codec="libvpx")

    report = run(tmp_path, "ssv2")

    out = tmp_path / "out"
    assert lines(out / "classes.txt") == list(labels)
    assert lines(out / "train.txt") == ["media/7.webm 5 2", "media/8.webm 3 0"]
    assert lines(out / "val.txt") == ["media/9.webm 4 1"]
    assert lines(out / "test.txt") == ["media/10.webm 2"]
    assert report.missing == 0 and not (out / "missing.txt").exists()


def test_kinetics_labels_are_sorted_names_and_videos_are_found_by_clip_or_youtube_id(tmp_path):
    ann, media = tmp_path / "ann", tmp_path / "out" / "media"
    header = "label,youtube_id,time_start,time_end,split\n"
    write(ann / "train.csv", header + "zumba,zzz,10,20,train\n"
                                      '"air drumming",aaa,5,15,train\nabseiling,bbb,0.0,10.0,train\n')
    write(ann / "validate.csv", header + "abseiling,ccc,3,13,val\nzumba,ddd,1,11,val\n")
    write(ann / "test.csv", "youtube_id,time_start,time_end,split\neee,0,10,test\n")
    frame_folder(media / "zumba" / "zzz_000010_000020", 4)
    frame_folder(media / "air_drumming" / "aaa_000005_000015", 3)
    frame_folder(media / "abseiling" / "bbb_000000_000010", 6)
    frame_folder(media / "abseiling" / "ccc", 2)  # named by its YouTube id alone
    frame_folder(media / "test" / "eee_000000_000010", 5)
    # ddd is absent, and a second 'bbb' folder would make that name ambiguous (see below).

    run(tmp_path, "kinetics400", layout="frames")

    out = tmp_path / "out"
    assert lines(out / "classes.txt") == ["abseiling", "air drumming", "zumba"]
    assert lines(out / "train.txt") == ["media/zumba/zzz_000010_000020 4 2",
                                        "media/air_drumming/aaa_000005_000015 3 1",
                                        "media/abseiling/bbb_000000_000010 6 0"]
    assert lines(out / "val.txt") == ["media/abseiling/ccc 2 0"]
    assert lines(out / "test.txt") == ["media/test/eee_000000_000010 5"]
    assert lines(out / "missing.txt") == [
        f"val\tddd_000001_000011\tno frame folder named 'ddd_000001_000011' or 'ddd' below {media}"]


def test_ucf101_labels_are_classind_minus_one_and_split_selects_the_files(tmp_path):
    ann, media = tmp_path / "ann", tmp_path / "out" / "media"
    write(ann / "classInd.txt", "1 ApplyEyeMakeup\r\n2 Archery\r\n3 Basketball\r\n")
    write(ann / "trainlist01.txt", "Archery/v_Archery_g01_c01.avi 2\n")
    write(ann / "testlist01.txt", "Basketball/v_Basketball_g02_c01.avi\n")
    write(ann / "trainlist02.txt", "Basketball/v_Basketball_g02_c01.avi 3\n"
                                   "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 1\n")
    write(ann / "testlist02.txt", "Archery/v_Archery_g01_c01.avi\n")
    frame_folder(media / "Archery" / "v_Archery_g01_c01", 7)
    frame_folder(media / "Basketball" / "v_Basketball_g02_c01", 5)
    frame_folder(media / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c01", 4)

    run(tmp_path, "ucf101", split=2, layout="frames")

    out = tmp_path / "out"
    assert lines(out / "classes.txt") == ["ApplyEyeMakeup", "Archery", "Basketball"]
    assert lines(out / "train.txt") == ["media/Basketball/v_Basketball_g02_c01 5 2",
                                        "media/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01 4 0"]
    assert lines(out / "val.txt") == ["media/Archery/v_Archery_g01_c01 7 1"]
    assert not (out / "test.txt").exists()


def test_ucf101_label_column_must_agree_with_classind(tmp_path):
    ann = tmp_path / "ann"
    write(ann / "classInd.txt", "1 ApplyEyeMakeup\n2 Archery\n")
    write(ann / "trainlist01.txt", "Archery/v_Archery_g01_c01.avi 1\n")
    write(ann / "testlist01.txt", "Archery/v_Archery_g02_c01.avi\n")
    (tmp_path / "out" / "media").mkdir(parents=True)
    with pytest.raises(UserError, match=r"trainlist01.txt:1: label 1 disagrees with classInd.txt, "
                                        r"where 'Archery' is 2"):
        run(tmp_path, "ucf101")


def test_hmdb51_labels_are_sorted_class_names_and_1_trains_2_tests(tmp_path):
    ann, media = tmp_path / "ann", tmp_path / "out" / "media"
    write(ann / "cartwheel_test_split1.txt", "d_cartwheel.avi 2 \ne_cartwheel.avi 1 \n")
    write(ann / "brush_hair_test_split1.txt", "a_brush.avi 1 \nb_brush.avi 2 \nc_brush.avi 0 \n")
    write(ann / "brush_hair_test_split2.txt", "a_brush.avi 2 \n")  # another split: ignored
    for video, count in {"d_cartwheel": 3, "e_cartwheel": 4, "a_brush": 5, "b_brush": 6,
                         "c_brush": 2}.items():
        frame_folder(media / video.split("_")[1] / video, count)

    run(tmp_path, "hmdb51", layout="frames")

    out = tmp_path / "out"
    assert lines(out / "classes.txt") == ["brush_hair", "cartwheel"]
    assert lines(out / "train.txt") == ["media/brush/a_brush 5 0", "media/cartwheel/e_cartwheel 4 1"]
    assert lines(out / "val.txt") == ["media/brush/b_brush 6 0", "media/cartwheel/d_cartwheel 3 1"]


def test_diving48_labels_are_the_json_label_field(tmp_path):
    ann, media = tmp_path / "ann", tmp_path / "out" / "media"
    vocab = [["Back", "15som", "05Twis", "FREE"], ["Forward", "25som", "NoTwis", "PIKE"],
             ["Inward", "15som", "NoTwis", "TUCK"]]
    write(ann / "Diving48_vocab.json", json.dumps(vocab))
    write(ann / "Diving48_V2_train.json", json.dumps([
        {"vid_name": "abc_00001", "label": 2, "start_frame": 0, "end_frame": 40},
        {"vid_name": "abc_00002", "label": 0, "start_frame": 0, "end_frame": 30}]))
    write(ann / "Diving48_V2_test.json", json.dumps([
        {"vid_name": "xyz_00007", "label": 1, "start_frame": 0, "end_frame": 20}]))
    frame_folder(media / "abc_00001", 4)
    frame_folder(media / "abc_00002", 3)
    frame_folder(media / "xyz_00007", 5)

    run(tmp_path, "diving48", layout="frames")

    out = tmp_path / "out"
    assert lines(out / "classes.txt") == ["Back 15som 05Twis FREE", "Forward 25som NoTwis PIKE",
                                          "Inward 15som NoTwis TUCK"]
    assert lines(out / "train.txt") == ["media/abc_00001 4 2", "media/abc_00002 3 0"]
    assert lines(out / "val.txt") == ["media/xyz_00007 5 1"]


def write_ssv1(tmp_path: Path) -> Path:
    ann, media = tmp_path / "ann", tmp_path / "out" / "media"
    write(ann / "something-something-v1-labels.csv", "C thing\nA thing\nB thing\n")
    write(ann / "something-something-v1-train.csv", "1;A thing\n2;B thing\n3;C thing\n")
    write(ann / "something-something-v1-validation.csv", "4;C thing\n5;A thing\n")
    write(ann / "something-something-v1-test.csv", "6\n")
    for video in "123456":
        frame_folder(media / video, int(video) + 1, "{:05d}.jpg")
    return ann


def test_class_list_keeps_its_classes_relabelled_in_file_order(tmp_path):
    write_ssv1(tmp_path)
    classes = write(tmp_path / "mini.txt", "\nC thing\nA thing\n")  # IBM's lists start blank

    report = run(tmp_path, "ssv1", classes=classes, list_format="start_end")

    out = tmp_path / "out"
    assert lines(out / "classes.txt") == ["C thing", "A thing"]
    assert lines(out / "train.txt") == ["media/1 1 2 1", "media/3 1 4 0"]
    assert lines(out / "val.txt") == ["media/4 1 5 0", "media/5 1 6 1"]
    assert not (out / "test.txt").exists()  # unlabelled: cannot be assigned to the subset
    assert report.warnings == ["2 classes in the annotations; the catalog's ssv1 has 174"]


def test_mini_subsets_need_their_class_list_and_it_must_name_real_classes(tmp_path):
    with pytest.raises(UserError, match=r"mini_ssv2 is a subset of ssv2 defined by a class-list "
                                        r"file: pass --classes FILE \(87 class names"):
        run(tmp_path, "mini_ssv2")
    write_ssv1(tmp_path)
    classes = write(tmp_path / "mini.txt", "A thing\nB thingg\n")
    with pytest.raises(UserError, match=r"mini.txt: 'B thingg' is not a class of the dataset "
                                        r"\(did you mean 'B thing'\?\)"):
        run(tmp_path, "ssv1", classes=classes)


def test_ambiguous_names_gaps_and_whitespace_are_reported_not_guessed(tmp_path):
    ann = write_ssv1(tmp_path)
    media = tmp_path / "out" / "media"
    frame_folder(media / "again" / "1", 3, "{:05d}.jpg")  # a second folder named '1'
    (media / "2" / "00002.jpg").unlink()  # frames 1 and 3 only
    frame_folder(media / "with space" / "5", 2, "{:05d}.jpg")
    (media / "5").rename(media / "elsewhere")

    run(tmp_path, "ssv1")

    out = tmp_path / "out"
    assert lines(out / "train.txt") == ["media/3 4 2"]
    assert lines(out / "val.txt") == ["media/4 5 2"]
    missing = lines(out / "missing.txt")
    assert missing[0] == f"train\t1\tambiguous: {media / '1'} and {media / 'again' / '1'}"
    assert missing[1] == ("train\t2\tframes are not numbered 1..2 without gaps (found 00001.jpg "
                          "to 00003.jpg)")
    assert missing[2].startswith("val\t5\tmedia/with space/5: the path contains whitespace")
    assert len(missing) == 3
    assert read_list(out / "val.txt")[0].num_frames == 5 and ann.is_dir()


def test_paths_are_absolute_when_the_media_lie_outside_the_output(tmp_path):
    write_ssv1(tmp_path)
    media = tmp_path / "out" / "media"
    convert("ssv1", tmp_path / "ann", media, tmp_path / "lists", progress=False)
    assert lines(tmp_path / "lists" / "test.txt") == [f"{media.resolve().as_posix()}/6 7"]


def test_cli_converts_prints_the_counts_and_rejects_bad_input(tmp_path, capsys):
    write_ssv1(tmp_path)
    (tmp_path / "out" / "media" / "6").rename(tmp_path / "out" / "media" / "x")
    args = ["data", "convert", "ssv1", "--annotations", str(tmp_path / "ann"),
            "--root", str(tmp_path / "out" / "media"), "--out", str(tmp_path / "out"), "-j", "1"]
    assert main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[2].split() == ["train", "train.txt", "3", "3", "0"]
    assert table[4].split() == ["test", "(not", "written)", "1", "0", "1"]
    assert main(args + ["--split", "2"]) == 2
    assert "--split: ssv1 has 1 official split(s), got 2" in capsys.readouterr().err
    assert main(["data", "convert", "ssv1", "--annotations", str(tmp_path / "nope"),
                 "--root", str(tmp_path)]) == 2
    assert "--annotations: folder" in capsys.readouterr().err


# ---------------------------------------------------------------- the other layout, and nothing found


def write_ucf101(tmp_path: Path) -> Path:
    ann = tmp_path / "ann"
    write(ann / "classInd.txt", "1 Archery\n2 Basketball\n")
    write(ann / "trainlist01.txt", "Archery/v_Archery_g01_c01.avi 1\nBasketball/v_Basketball_g01_c01.avi 2\n")
    write(ann / "testlist01.txt", "Archery/v_Archery_g02_c01.avi\n")
    return ann


def test_frame_folders_where_videos_were_expected_are_listed_and_the_template_named(tmp_path):
    """UCF101 ships videos; frame folders as TSM's scripts extract them ('%06d.jpg') are used."""
    write_ucf101(tmp_path)
    media = tmp_path / "out" / "media"
    for name, count in (("v_Archery_g01_c01", 5), ("v_Basketball_g01_c01", 3), ("v_Archery_g02_c01", 4)):
        frame_folder(media / name, count, "{:06d}.jpg")

    report = run(tmp_path, "ucf101")

    out = tmp_path / "out"
    assert lines(out / "train.txt") == ["media/v_Archery_g01_c01 5 0", "media/v_Basketball_g01_c01 3 1"]
    assert lines(out / "val.txt") == ["media/v_Archery_g02_c01 4 0"]
    assert report.warnings[-1] == (f"no video files below {media} are named as annotated videos, but 3 frame "
                                   f"folders are: listed those (--layout frames says so); frames named like "
                                   f"'{{:06d}}.jpg': set data.template: '{{:06d}}.jpg' in the experiments "
                                   f"that use these lists")


def test_video_files_where_frame_folders_were_expected_are_listed(tmp_path):
    write_ssv1(tmp_path)
    media = tmp_path / "out" / "media"
    for folder in list(media.iterdir()):
        for frame in folder.iterdir():
            frame.unlink()
        folder.rmdir()
        write_video(media / f"{folder.name}.mp4", frames=3)

    report = run(tmp_path, "ssv1")

    assert lines(tmp_path / "out" / "train.txt") == ["media/1.mp4 3 0", "media/2.mp4 3 1", "media/3.mp4 3 2"]
    assert report.warnings[-1].startswith(f"no frame folders below {media} are named as annotated videos, "
                                          f"but 6 video files are: listed those (--layout videos")


def test_a_split_with_nothing_written_exits_2_saying_what_to_pass(tmp_path, capsys):
    write_ucf101(tmp_path)
    (tmp_path / "empty").mkdir()
    args = ["data", "convert", "ucf101", "--annotations", str(tmp_path / "ann"), "--root",
            str(tmp_path / "empty"), "--out", str(tmp_path / "lists"), "-j", "1"]
    assert main(args) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: data convert ucf101: nothing written for split 'train' (2 videos) and "
                            "'val' (1 videos): no annotated video was found below --root "
                            f"{tmp_path / 'empty'}")
    assert "pass --root the folder that holds the videos or frame folders" in error
    assert lines(tmp_path / "lists" / "missing.txt")[0].startswith("train\tv_Archery_g01_c01\tno video file")
