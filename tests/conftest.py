"""Shared fixtures: small experiment files written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

import actionbench.models  # noqa: F401  (fills the method registry the tests look into)

torch.set_num_threads(2)


@pytest.fixture
def write_yaml(tmp_path: Path):
    """write_yaml(name, mapping or raw text) -> path of the written file."""

    def write(name: str, content) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text)
        return path

    return write


def tiny_experiment(**overrides) -> dict:
    """A valid experiment mapping on synthmotion with a tiny ResNet-18 setting."""
    spec = {
        "name": "tiny",
        "model": {"method": "tsm", "backbone": "resnet18"},
        "data": {"dataset": "synthmotion", "frames": 4, "input_size": 32, "scale_size": 32,
                 "workers": 0},
        "train": {"epochs": 1, "batch_size": 8, "lr": 0.01, "schedule": "cosine", "amp": False},
        "eval": {"batch_size": 8},
        "cost": {"warmup": 1, "repeats": 2, "throughput_batch": 2},
    }
    for dotted, value in overrides.items():
        node = spec
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return spec


def build_method(method: str, frames: int = 4, classes: int = 10, backbone: str = "resnet18",
                 dropout: float = 0.0, **options):
    """A method's network in eval mode, seeded, with a small ResNet by default."""
    from actionbench.plan.registry import METHODS, BuildContext

    entry = METHODS[method]
    ctx = BuildContext(backbone=backbone, num_classes=classes, frames=frames, dropout=dropout,
                       options=entry.options(**options))
    torch.manual_seed(0)
    return entry.build(ctx).eval()


def generate_synthmotion(folder: Path, train_per_class: int, frames: int) -> Path:
    """A tiny synthmotion (one validation clip per class, 32 px frames) in `folder`."""
    from actionbench.data import synthmotion

    root = folder / "synthmotion"
    synthmotion.generate(root, synthmotion.SynthConfig(train_per_class=train_per_class,
                                                       val_per_class=1, frames=frames, size=32),
                         progress=False)
    return root


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    """2 training clips per class of 8 frames."""
    return generate_synthmotion(tmp_path_factory.mktemp("data"), train_per_class=2, frames=8)


def write_video(path: Path, frames: int, width: int = 32, height: int = 32, fps: int = 25,
                codec: str = "mpeg4", gop: int = 8) -> Path:
    """A small video whose frame i is flat grey at level `grey_level(i)`, so that a decoded
    frame's index can be read back from its mean (up to 48 frames)."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        # Without a scene-change threshold mpeg4 makes every changing frame a keyframe; with it,
        # keyframes come every `gop` frames, so decoding can be checked after a seek.
        options = {"sc_threshold": "1000000000"} if codec == "mpeg4" else {}
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt, stream.gop_size = width, height, "yuv420p", gop
        stream.bit_rate = 4_000_000  # near lossless at this size: grey levels survive
        for index in range(frames):
            image = np.full((height, width, 3), grey_level(index), np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def grey_level(index: int) -> int:
    return 8 + 5 * index


@pytest.fixture(scope="session")
def minimal_synth_root(tmp_path_factory):
    """The smallest: 1 training clip per class of 4 frames."""
    return generate_synthmotion(tmp_path_factory.mktemp("minimal"), train_per_class=1, frames=4)


def synthetic_predictions(accuracy: float, seed: int, videos: int = 200, classes: int = 10,
                          video_ids: list[str] | None = None):
    """Predictions with about `accuracy` of the videos right (labels cycle through the classes);
    a wrong video is taken for its pair partner (label ^ 1), as an order-blind model does on
    synthmotion."""
    import numpy as np

    from actionbench.store.predictions import Predictions

    rng = np.random.default_rng(seed)
    labels = np.arange(videos) % classes
    predicted = np.where(rng.random(videos) < accuracy, labels, (labels ^ 1) % classes)
    scores = np.full((videos, classes), 0.16 / (classes - 2))
    scores[np.arange(videos), predicted] = 0.6
    scores[np.arange(videos), (predicted + 2) % classes] += 0.24
    return Predictions(scores / scores.sum(axis=1, keepdims=True), labels,
                       video_ids or [f"video{index:03d}" for index in range(videos)], "probabilities",
                       class_names=[f"class{label}" for label in range(classes)])


def save_with_predictions(folder: Path, record: dict, predictions) -> dict:
    """Write `predictions` into the run folder and its `result.json`: `record` with the metrics
    and the predictions entry that the file gives."""
    import json

    from actionbench.store.predictions import write_predictions
    from actionbench.store.run_predictions import PredictionsEntry

    folder.mkdir(parents=True, exist_ok=True)
    digest = write_predictions(folder / "predictions.npz", predictions)
    record = {**record, **predictions.metrics(), "status": "finished", "num_classes": predictions.num_classes,
              "predictions": PredictionsEntry.of(predictions, "predictions.npz", digest).model_dump()}
    (folder / "result.json").write_text(json.dumps(record))
    return record
