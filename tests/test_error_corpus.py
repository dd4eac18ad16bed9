"""A corpus of bad inputs: every one ends in exit code 2 and one `error:` line on stderr that
names the culprit (the file, the line for YAML and list files, the field, the bad value), and
never in a traceback.

Config cases run `run --dry-run`; data and weights cases run `run` (or `profile`) on a copy of
a tiny synthmotion set, and fail before training or on the first batch that touches the bad
file.
"""

from __future__ import annotations

import ast
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml
from conftest import tiny_experiment

from actionbench.cli import main
from actionbench.config import load_plans
from actionbench.data import synthmotion


@dataclass
class Workspace:
    """A tmp folder with helpers to write experiments and break a private copy of the data."""

    tmp: Path
    pristine: Path

    def write(self, name: str, content: dict | str) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
        return path

    @property
    def data(self) -> Path:
        root = self.tmp / "synthmotion"
        if not root.exists():
            shutil.copytree(self.pristine, root)
        return root

    def experiment(self, **overrides) -> Path:
        # One training batch holds every sample: a corrupt frame stops the run before any step.
        return self.write("exp.yaml", tiny_experiment(**{"data__root": str(self.data),
                                                         "train__batch_size": 10, **overrides}))

    def frame(self, number: int = 1) -> Path:
        """A frame of the first training video (line 1 of train.txt), in the copy of the data."""
        return self.data / "frames/train/move_left/000000" / synthmotion.TEMPLATE.format(number)

    def run(self, path: Path, *extra: str) -> list[str]:
        return ["run", str(path), "--runs", str(self.tmp / "runs"), "--device", "cpu", *extra]


def run_cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse reports bad arguments itself, with exit code 2
        return exc.code


def assert_clean_error(argv: list[str], fragments: list[str], capsys) -> str:
    code = run_cli(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and 'File "' not in err, err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    return err


@pytest.fixture
def ws(tmp_path, minimal_synth_root) -> Workspace:
    return Workspace(tmp_path, minimal_synth_root)


# ------------------------------------------------------------------ fields of a valid file

FIELD_CASES = {
    "unknown top-level key": ({"trian": {"epochs": 1}}, ["field 'trian'", "did you mean 'train'"]),
    "unknown nested key": ({"train__epohcs": 3}, ["field 'train.epohcs'", "did you mean 'epochs'"]),
    "unknown method": ({"model__method": "tsmm"}, ["model.method", "'tsmm'", "did you mean 'tsm'"]),
    "unknown backbone": ({"model__backbone": "resnet51"}, ["model.backbone", "'resnet51'",
                                                           "did you mean 'resnet50'"]),
    "unknown dataset": ({"data__dataset": "ssv3"}, ["data.dataset", "'ssv3'", "did you mean 'ssv2'"]),
    "unknown method option": ({"model__options": {"shift_dv": 4}},
                              ["model.options.shift_dv", "did you mean 'shift_div'"]),
    "unknown sampling": ({"data__sampling": "dens"}, ["data.sampling", "'dens'",
                                                      "did you mean 'dense'", "'segment' or 'dense'"]),
    "unknown on_error": ({"data__on_error": "ignore"}, ["data.on_error", "'ignore'", "'fail' or 'skip'"]),
    "text for an integer": ({"train__batch_size": "many"}, ["train.batch_size", "'many'", "integer"]),
    "text for a number": ({"train__lr": "fast"}, ["train.lr", "'fast'", "number"]),
    "section not a mapping": ({"train": 5}, ["field 'train'", "5", "dictionary"]),
    "zero frames": ({"data__frames": 0}, ["data.frames", "greater than 0", "got 0"]),
    "negative frames": ({"data__frames": -3}, ["data.frames", "got -3"]),
    "negative learning rate": ({"train__lr": -0.1}, ["train.lr", "greater than 0", "-0.1"]),
    "batch size 0": ({"train__batch_size": 0}, ["train.batch_size", "greater than 0", "got 0"]),
    "crops not 1/3/5/10": ({"eval__crops": 4}, ["eval.crops", "got 4", "1, 3, 5 or 10"]),
    "zero clips": ({"eval__clips": 0}, ["eval.clips", "got 0"]),
    "momentum out of range": ({"train__momentum": 1.5}, ["train.momentum", "1.5"]),
    "too few frames for s3d": ({"model": {"method": "s3d"}, "data__frames": 8},
                               ["data.frames", "'s3d' needs at least 14 frames, got 8"]),
    "test crop for a network sized for its training crop": (
        {"model": {"method": "videomae"}, "eval__input_size": 64, "eval__scale_size": 64},
        ["eval.input_size", "'videomae' is built for the 32x32 crop it trains on", "cannot test 64x64"]),
    "method missing": ({"model": {"backbone": "resnet18"}}, ["model.method", "required"]),
    "name escapes the runs folder": ({"name": "../../x"}, ["field 'name'", "'../../x'", "runs folder"]),
    "absolute name": ({"name": "/tmp/x"}, ["field 'name'", "'/tmp/x'", "runs folder"]),
}


@pytest.mark.parametrize("overrides, fragments", FIELD_CASES.values(), ids=FIELD_CASES.keys())
def test_bad_field(ws, capsys, overrides, fragments):
    path = ws.write("bad.yaml", tiny_experiment(**overrides))
    assert_clean_error(["run", str(path), "--dry-run"], [str(path), *fragments], capsys)


# ------------------------------------------------------------------ whole files

VALID = "name: x\nmodel: {method: tsm}\ndata: {dataset: synthmotion}\n"
ALIAS_BOMB = ("bombs:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
              + "".join(f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]\n" for n in range(1, 9))
              + "description: *l8\n")
"""Nine lines holding 10^9 values once the aliases are expanded (the 'billion laughs')."""
FILE_CASES = {
    "YAML syntax error": ("name: [unclosed\nmodel: {method: tsm}\n", [":2:", "YAML syntax error"]),
    "bad indentation": ("name: x\nmodel:\n  method: tsm\n   backbone: resnet18\n",
                        [":4:", "YAML syntax error"]),
    "empty file": ("", ["the file is empty"]),
    "only comments": ("# nothing here\n", ["the file is empty"]),
    "a list": ("- a\n- b\n", ["expected a mapping", "got a list"]),
    "a scalar": ("just words\n", ["expected a mapping", "got a str"]),
    "python object tag": (VALID + "x: !!python/object/apply:os.system ['true']\n",
                          [":4:", "unsupported YAML tag", "only plain YAML"]),
    "cyclic base": ("base: bad.yaml\n" + VALID, ["cyclic 'base:' chain", "field 'base'"]),
    "missing base": ("base: ../nowhere.yaml\n" + VALID, ["field 'base'", "nowhere.yaml", "not found"]),
    "base not a path": ("base: 5\n" + VALID, ["field 'base'", "got 5"]),
    "missing file in a base list": ("base: [../nowhere.yaml]\n" + VALID,
                                    ["field 'base'", "'../nowhere.yaml' not found"]),
    "empty base list": ("base: []\n" + VALID, ["field 'base'", "non-empty list", "got []"]),
    "matrix not a mapping": (VALID + "matrix: [tsn, tsm]\n", ["field 'matrix'", "expected a mapping"]),
    "empty matrix list": (VALID + "matrix: {model.method: []}\n",
                          ["field 'matrix.model.method'", "non-empty list"]),
    "matrix key unknown": (VALID + "matrix: {model.methd: [tsn]}\n",
                           ["field 'model.methd'", "did you mean 'method'"]),
    "matrix key not a field name": (VALID + "matrix: {1: [tsn]}\n", ["field 'matrix'", "got 1"]),
    "matrix key through a value": (VALID + "matrix: {model.method.x: [1]}\n",
                                   ["'model.method' is a value, not a section"]),
    "matrix value unknown": (VALID + "matrix: {model.method: [tsn, tsmm]}\n",
                             ["model.method", "'tsmm'", "did you mean 'tsm'"]),
    "matrix name placeholder": ("name: x-{model.methd}\nmodel: {method: tsm}\n"
                                "data: {dataset: synthmotion}\nmatrix: {model.method: [tsn]}\n",
                                ["field 'name'", "placeholder '{model.methd}'"]),
    "alias bomb in a typed field": (VALID + ALIAS_BOMB, ["aliases (*name) expand to more than 100,000"]),
}


@pytest.mark.parametrize("text, fragments", FILE_CASES.values(), ids=FILE_CASES.keys())
def test_bad_file(ws, capsys, text, fragments):
    path = ws.write("bad.yaml", text)
    err = assert_clean_error(["run", str(path), "--dry-run"], [str(path), *fragments], capsys)
    assert len(err) < 2000  # a huge bad value is echoed in a line, not in gigabytes


# ------------------------------------------------------------------ the command line

SET_CASES = {
    "no '='": (["train.epochs"], ["--set", "expected KEY=VALUE", "'train.epochs'"]),
    "no key": (["=5"], ["--set", "expected KEY=VALUE"]),
    "unknown path": (["train.epohcs=2"], ["--set train.epohcs=2", "did you mean 'epochs'"]),
    "bad value": (["train.epochs=abc"], ["--set train.epochs=abc", "train.epochs", "'abc'"]),
    "path through a value": (["train.epochs.x=1"], ["'train.epochs' is a value, not a section"]),
    "unreadable value": (["train.lr=[1"], ["--set", "field 'train.lr'", "cannot read the value '[1'"]),
    "escaping name": (["name=../x"], ["field 'name'", "'../x'", "runs folder"]),
}


@pytest.mark.parametrize("overrides, fragments", SET_CASES.values(), ids=SET_CASES.keys())
def test_bad_override(ws, capsys, overrides, fragments):
    path = ws.write("a.yaml", tiny_experiment())
    argv = ["run", str(path), "--dry-run", *[arg for value in overrides for arg in ("--set", value)]]
    assert_clean_error(argv, fragments, capsys)


def test_missing_path_empty_folder_and_bad_shard(ws, capsys):
    assert_clean_error(["run", str(ws.tmp / "nowhere.yaml")], ["nowhere.yaml", "no such file"], capsys)
    (ws.tmp / "empty").mkdir()
    assert_clean_error(["run", str(ws.tmp / "empty")], ["no experiment files found", "empty"], capsys)
    path = ws.write("a.yaml", tiny_experiment())
    assert_clean_error(["run", str(path), "--shard", "2/2"], ["--shard", "0 <= I < N", "'2/2'"], capsys)


# ------------------------------------------------------------------ data

Case = Callable[[Workspace], tuple[list[str], list[str]]]


def missing_root(ws: Workspace):
    path = ws.write("exp.yaml", tiny_experiment(data__dataset="ucf101", data__root=str(ws.tmp / "none")))
    return ws.run(path), ["data.root", str(ws.tmp / "none"), "not found"]


def missing_list(ws: Workspace):
    return ws.run(ws.experiment(data__train_list="nope.txt")), [str(ws.data / "nope.txt"), "not found"]


def broken_list(content: str, line: int, fragments: list[str]) -> Case:
    def case(ws: Workspace):
        (ws.data / "bad.txt").write_text(content)
        where = f"{ws.data / 'bad.txt'}:{line}" if line else str(ws.data / "bad.txt")
        return ws.run(ws.experiment(data__train_list="bad.txt")), [where, *fragments]
    return case


GOOD = "frames/train/move_left/000000 4 0\n"


def corrupt_frame(data: bytes | None, fragments: list[str], workers: int = 0) -> Case:
    """Overwrite (or, with None, delete) frame 2 of a training video: found on decoding, not
    up front."""
    def case(ws: Workspace):
        frame = ws.frame(2)
        if data is None:
            frame.unlink()
        else:
            frame.write_bytes(data if data != b"half" else frame.read_bytes()[: frame.stat().st_size // 2])
        return ws.run(ws.experiment(data__workers=workers)), [str(frame), *fragments, "data.on_error: skip"]
    return case


def missing_folder(ws: Workspace):
    folder = ws.frame().parent
    shutil.rmtree(folder)
    return ws.run(ws.experiment()), [f"{ws.data / 'train.txt'}:1", str(folder), "not found"]


def too_few_frames(ws: Workspace):
    ws.frame(4).unlink()
    return ws.run(ws.experiment()), [f"{ws.data / 'train.txt'}:1", "img_00004.jpg not found",
                                     "gives 4 frames"]


def undecodable_video(ws: Workspace):
    video = ws.data / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    (ws.data / "videos.txt").write_text("clip.mp4 4 0\n")
    return ws.run(ws.experiment(data__train_list="videos.txt")), [str(video), "cannot decode video"]


class Payload:
    """Unpickling this would run a shell command that creates `marker`."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def pickle_checkpoint(ws: Workspace):
    path = ws.experiment()
    (experiment,) = load_plans([path])
    checkpoint = ws.tmp / "runs" / experiment.id / "checkpoint.pt"
    checkpoint.parent.mkdir(parents=True)
    torch.save({"model": Payload(ws.tmp / "pwned")}, checkpoint)
    return ws.run(path), [str(checkpoint), "refused", "weights_only=True", "system"]


def garbage_checkpoint(ws: Workspace):
    path = ws.experiment()
    (experiment,) = load_plans([path])
    checkpoint = ws.tmp / "runs" / experiment.id / "checkpoint.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"PK\x03\x04 cut short")
    return ws.run(path), [str(checkpoint), "not a readable checkpoint", "move it aside"]


def pickle_pretrained(ws: Workspace):
    weights = ws.tmp / "weights.pt"
    torch.save({"conv1.weight": Payload(ws.tmp / "pwned")}, weights)
    path = ws.write("exp.yaml", tiny_experiment(model__pretrained=str(weights)))
    return ["profile", str(path), "--no-speed"], ["model.pretrained", str(weights)]


def missing_pretrained(ws: Workspace):
    path = ws.write("exp.yaml", tiny_experiment(model__pretrained=str(ws.tmp / "none.pt")))
    return ["profile", str(path), "--no-speed"], ["model.pretrained", str(ws.tmp / "none.pt"), "not found"]


def zeroed_checkpoint(ws: Workspace):
    """A checkpoint with a zeroed block inside its weights: torch loads it without complaint."""
    from actionbench.engine.checkpoint import Progress, save_checkpoint

    path = ws.experiment()
    (experiment,) = load_plans([path])
    checkpoint = ws.tmp / "runs" / experiment.id / "checkpoint.pt"
    model = torch.nn.Linear(512, 512)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    save_checkpoint(checkpoint, model, optimizer, scheduler, torch.amp.GradScaler("cpu", enabled=False),
                    Progress(epoch=1))
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2:len(data) // 2 + 65536] = bytes(65536)
    checkpoint.write_bytes(bytes(data))
    return ws.run(path), [str(checkpoint), "damaged", "does not match the sha256", "move it aside",
                          "--force"]


def damaged_record(content: bytes | None, fragments: list[str]) -> Case:
    """A run folder whose result.json is not a record (None: a folder of that name)."""
    def case(ws: Workspace):
        path = ws.experiment()
        (experiment,) = load_plans([path])
        record = ws.tmp / "runs" / experiment.id / "result.json"
        record.parent.mkdir(parents=True)
        record.mkdir() if content is None else record.write_bytes(content)
        return ws.run(path), [str(record), *fragments, "move the run folder", "--force"]
    return case


def nan_weights(ws: Workspace):
    from actionbench.models import build_network

    path = ws.experiment()
    (experiment,) = load_plans([path])
    state = build_network(experiment).state_dict()
    first, *_, last = [name for name, tensor in state.items() if tensor.is_floating_point()]
    state[first].view(-1)[0] = float("inf")
    state[last].fill_(float("nan"))
    torch.save(state, ws.tmp / "nan.pt")
    return (["eval", str(path), "--weights", str(ws.tmp / "nan.pt"), "--runs", str(ws.tmp / "runs")],
            [str(ws.tmp / "nan.pt"), "2 tensor(s) hold NaN or infinite values", first, last])


def runs_is_a_file(ws: Workspace):
    (ws.tmp / "runs").write_text("a file, not a folder\n")
    return ws.run(ws.experiment()), [str(ws.tmp / "runs"), "not a directory"]


DATA_CASES: dict[str, Case] = {
    "missing data root": missing_root,
    "missing list file": missing_list,
    "empty list": broken_list("\n\n", 0, ["annotation list is empty"]),
    "wrong column count": broken_list(GOOD.strip() + " 7 8\n", 1, ["expected 2", "got 5"]),
    "column count changes": broken_list(GOOD + GOOD + "frames/train/move_left/000000 4\n", 3,
                                        ["expected 3 columns", "like line 1", "got 2"]),
    "non-integer label": broken_list(GOOD + "frames/train/move_left/000000 4 left\n", 2,
                                     ["label must be an integer", "'left'"]),
    "label outside the classes": broken_list(GOOD + "frames/train/move_left/000000 4 10\n", 2,
                                             ["label must be 0..9", "got 10"]),
    "zero frames in the list": broken_list("frames/train/move_left/000000 0 1\n", 1,
                                           ["num_frames must be >= 1", "got 0"]),
    "missing frame folder": missing_folder,
    "fewer frames than listed": too_few_frames,
    "truncated JPEG": corrupt_frame(b"half", ["corrupt JPEG frame", "truncated"]),
    "zero-byte JPEG": corrupt_frame(b"", ["frame file is empty (0 bytes)"]),
    "not a JPEG": corrupt_frame(b"hello, world", ["corrupt JPEG frame"]),
    "frame deleted after the check": corrupt_frame(None, ["missing or unreadable"]),
    "corrupt JPEG in a worker process": corrupt_frame(b"half", ["corrupt JPEG frame"], workers=2),
    "undecodable video": undecodable_video,
    "pickle payload checkpoint": pickle_checkpoint,
    "unreadable checkpoint": garbage_checkpoint,
    "pickle payload pretrained weights": pickle_pretrained,
    "missing pretrained weights": missing_pretrained,
    "checkpoint with a zeroed block": zeroed_checkpoint,
    "binary result.json": damaged_record(b"\xff\xfe\x00\x81", ["cannot be read as text"]),
    "result.json holding a list": damaged_record(b"[1, 2]", ["expected a JSON object, got a list"]),
    "empty result.json object": damaged_record(b"{}", ["field 'id'", "Field required"]),
    "result.json is a folder": damaged_record(None, ["cannot be read as text (IsADirectoryError)"]),
    "NaN and infinite weights to eval": nan_weights,
    "--runs is a file": runs_is_a_file,
}


@pytest.mark.parametrize("case", DATA_CASES.values(), ids=DATA_CASES.keys())
def test_bad_data_or_weights(ws, capsys, case):
    argv, fragments = case(ws)
    assert_clean_error(argv, fragments, capsys)
    assert not (ws.tmp / "pwned").exists()  # no file was ever unpickled


def test_the_package_loads_files_only_safely():
    """Every `torch.load` passes weights_only=True, and nothing unpickles or reads YAML unsafely,
    so no checkpoint, weights or experiment file can run code."""
    package = Path(__file__).resolve().parents[1] / "actionbench"
    unsafe = {"load", "unsafe_load", "full_load", "loads"}
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)):
                continue
            owner, name = node.func.value.id, node.func.attr
            weights_only = any(keyword.arg == "weights_only" and getattr(keyword.value, "value", None) is True
                               for keyword in node.keywords)
            unsafe_torch = owner == "torch" and name == "load" and not weights_only
            if unsafe_torch or (owner in ("yaml", "pickle") and name in unsafe):
                found.append(f"{path.relative_to(package)}:{node.lineno}: {owner}.{name}")
    assert not found
