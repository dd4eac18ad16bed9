"""Per-video predictions: the file that lets a finished evaluation be re-scored, bootstrapped,
compared pairwise and fused without running the network again.

One compressed numpy archive (`np.savez_compressed`, read with `allow_pickle=False`) per
evaluation, beside its record:

    scores        float32 (videos, classes)         the video's score: the mean of its views
    labels        int64   (videos,)                 the ground-truth class
    video_ids     unicode (videos,)                 the path column of the evaluated list
    view_scores   float32 (videos, views, classes)  every view's score; only with several views
    class_names   unicode (classes,)                line i of the dataset's classes.txt; only
                                                    when the dataset has one
    meta          unicode scalar                    JSON: format, version, score kind, the counts
                                                    (videos, classes, views: 1 without
                                                    view_scores) and the video list's digest

`meta["scores"]` says what the numbers are, for `scores` and `view_scores` alike: softmax
`probabilities` or raw `logits`. Either way the video's score is the mean of its view scores,
and the reader checks it: the mean of softmax is what `engine/evaluate.py: predict` computes,
the mean of logits what mit-han-lab/temporal-shift-module@1f6a834:test_models.py
(`eval_video`) computes; its `--softmax` after that mean changes no top-k, so such an
evaluation is stored as the mean logits.

`video_list_sha256` digests the (id, label) pairs in order, so two evaluations are paired video
by video exactly when their digests agree.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..core.atomic import atomic_write
from ..core.errors import UserError
from ..core.metrics import classification_metrics, topk_correct

FORMAT = "actionbench.store.predictions"
VERSION = 1
SCORE_KINDS = ("probabilities", "logits")
REQUIRED = ("scores", "labels", "video_ids", "meta")
DTYPE_KINDS = {"scores": ("f", "floats"), "labels": ("iu", "integers"), "video_ids": ("U", "strings"),
               "view_scores": ("f", "floats"), "class_names": ("U", "strings"), "meta": ("U", "a string")}
SUM_TOLERANCE = 1e-3
"""How far a row of float32 probabilities (a mean of softmaxes) may sum from 1."""
MEAN_TOLERANCE = dict(rtol=1e-4, atol=1e-5)
"""How far the stored video scores may be from the float32 mean of the stored view scores."""


@dataclass(frozen=True)
class Predictions:
    """One evaluation's scores, video by video, in the order of the evaluated list.
    Constructing one checks that its parts fit together (ValueError otherwise)."""

    scores: np.ndarray
    labels: np.ndarray
    video_ids: np.ndarray
    kind: str
    """What `scores` and `view_scores` hold: one of SCORE_KINDS."""
    view_scores: np.ndarray | None = None
    class_names: np.ndarray | None = None
    """The name of each label, for reading confusions; None when the dataset has no classes.txt."""

    def __post_init__(self):
        coerce = {"scores": np.asarray(self.scores, dtype=np.float32),
                  "labels": np.asarray(self.labels, dtype=np.int64),
                  "video_ids": np.asarray(self.video_ids, dtype=np.str_)}
        if self.view_scores is not None:
            coerce["view_scores"] = np.asarray(self.view_scores, dtype=np.float32)
        if self.class_names is not None:
            coerce["class_names"] = np.asarray(self.class_names, dtype=np.str_)
        for name, value in coerce.items():
            object.__setattr__(self, name, value)
        problem = _inconsistency(self)
        if problem:
            raise ValueError(problem)

    @property
    def num_videos(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return self.scores.shape[1]

    @property
    def views(self) -> int:
        return 1 if self.view_scores is None else self.view_scores.shape[1]

    @property
    def video_list_sha256(self) -> str:
        return video_list_sha256(self.video_ids, self.labels)

    def correct(self, k: int) -> np.ndarray:
        """Per-video booleans: is the label among the k best scores?"""
        return topk_correct(torch.from_numpy(self.scores), torch.from_numpy(self.labels), k).numpy()

    def metrics(self) -> dict[str, float]:
        """top-1, top-5 and mean class accuracy, exactly as the evaluation computed them."""
        return classification_metrics(torch.from_numpy(self.scores), torch.from_numpy(self.labels))

    def meta(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "scores": self.kind, "videos": self.num_videos,
                "classes": self.num_classes, "views": self.views,
                "video_list_sha256": self.video_list_sha256}


def video_list_sha256(video_ids: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of the list's lines 'id label\\n' in order (annotation-list paths hold no blanks)."""
    lines = "".join(f"{video} {label}\n" for video, label in zip(video_ids.tolist(), labels.tolist()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def write_predictions(path: Path, predictions: Predictions) -> str:
    """Write the file atomically; returns its sha256 for the record."""
    arrays = {"scores": predictions.scores, "labels": predictions.labels,
              "video_ids": predictions.video_ids, "meta": np.array(json.dumps(predictions.meta()))}
    for optional in ("view_scores", "class_names"):
        if getattr(predictions, optional) is not None:
            arrays[optional] = getattr(predictions, optional)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    content = buffer.getvalue()
    atomic_write(Path(path), lambda handle: handle.write(content))
    return hashlib.sha256(content).hexdigest()


def read_predictions(path: Path, sha256: str | None = None) -> Predictions:
    """The validated predictions of `path`; `sha256`, the record's digest, is checked when
    given. Anything wrong with the file raises UserError naming it."""
    path = Path(path)
    where = f"predictions file {path}"
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{where} not found") from None
    if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
        raise UserError(f"{where}: its sha256 is not the one its record names ({sha256[:12]}…): "
                        "the file was changed or replaced after the evaluation")
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise UserError(f"{where}: not a readable numpy archive (.npz): {exc}") from None
    missing = [name for name in REQUIRED if name not in arrays]
    if missing:
        raise UserError(f"{where}: missing array(s) {', '.join(missing)}; expected {', '.join(REQUIRED)}")
    for name, array in arrays.items():
        kinds, expected = DTYPE_KINDS.get(name, ("", ""))
        if not kinds:
            raise UserError(f"{where}: unexpected array '{name}'; expected {', '.join(DTYPE_KINDS)}")
        if array.dtype.kind not in kinds:
            raise UserError(f"{where}: '{name}' holds {array.dtype}, expected {expected}")
    meta = _meta(arrays["meta"], where)
    try:
        predictions = Predictions(arrays["scores"], arrays["labels"], arrays["video_ids"],
                                  meta["scores"], arrays.get("view_scores"), arrays.get("class_names"))
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None
    for field, value in predictions.meta().items():
        if meta[field] != value:
            raise UserError(f"{where}: meta field '{field}' is {meta[field]!r} but the arrays give {value!r}")
    return predictions


def require_same_videos(purpose: str, name_a: str, a: Predictions, name_b: str, b: Predictions) -> None:
    """Refuse, in one line naming both runs and the first difference, to `purpose` (fuse,
    compare) evaluations that are not paired video by video."""
    where = f"cannot {purpose} runs '{name_a}' and '{name_b}'"
    if a.num_classes != b.num_classes:
        raise UserError(f"{where}: different class counts ({a.num_classes} vs {b.num_classes})")
    if a.class_names is not None and b.class_names is not None and (a.class_names != b.class_names).any():
        first = int(np.argmax(a.class_names != b.class_names))
        raise UserError(f"{where}: different class names, first at label {first} "
                        f"({str(a.class_names[first])!r} vs {str(b.class_names[first])!r})")
    if a.num_videos != b.num_videos:
        raise UserError(f"{where}: different video lists ({a.num_videos} vs {b.num_videos} videos)")
    for differs, what in ((a.video_ids != b.video_ids, "video ids"), (a.labels != b.labels, "labels")):
        if differs.any():
            first = int(np.argmax(differs))
            line_a, line_b = (f"{p.video_ids[first]} {p.labels[first]}" for p in (a, b))
            raise UserError(f"{where}: different video lists: {what} differ at {int(differs.sum())} of "
                            f"{a.num_videos} positions, first at position {first} ({line_a} vs {line_b})")


def _meta(array: np.ndarray, where: str) -> dict:
    try:
        meta = json.loads(str(array[()]))
    except (json.JSONDecodeError, IndexError, TypeError) as exc:
        raise UserError(f"{where}: the 'meta' array is not a JSON object: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{where}: meta 'format' is not '{FORMAT}': not an actionbench predictions file")
    if meta.get("version") != VERSION:
        raise UserError(f"{where}: format version {meta.get('version')!r}; this actionbench reads {VERSION}")
    missing = [field for field in ("scores", "videos", "classes", "views", "video_list_sha256")
               if field not in meta]
    if missing:
        raise UserError(f"{where}: meta lacks {', '.join(missing)}")
    return meta


def non_finite(scores: np.ndarray) -> str | None:
    """What is wrong when scores hold NaN or infinities (diverged weights), or None."""
    broken = int((~np.isfinite(scores)).sum())
    return f"scores hold {broken} NaN or infinite value(s)" if broken else None


def _inconsistency(p: Predictions) -> str | None:
    """What is wrong with the parts of `p`, or None."""
    if p.kind not in SCORE_KINDS:
        return f"scores kind '{p.kind}': expected one of {', '.join(SCORE_KINDS)}"
    if p.scores.ndim != 2 or p.scores.shape[0] == 0 or p.scores.shape[1] == 0:
        return f"scores must be (videos, classes) with at least one of each, got shape {p.scores.shape}"
    videos, classes = p.scores.shape
    for name in ("labels", "video_ids"):
        if getattr(p, name).shape != (videos,):
            return f"{name} must be ({videos},) like the scores' videos, got shape {getattr(p, name).shape}"
    if p.labels.min() < 0 or p.labels.max() >= classes:
        return f"labels must lie in [0, {classes - 1}], found {p.labels.min()}..{p.labels.max()}"
    if problem := non_finite(p.scores):
        return problem
    if p.kind == "probabilities":
        sums = p.scores.sum(axis=1, dtype=np.float64)
        if p.scores.min() < 0 or np.abs(sums - 1).max() > SUM_TOLERANCE:
            return "probabilities must be non-negative with rows summing to 1"
    if p.view_scores is not None:
        if p.view_scores.ndim != 3 or p.view_scores.shape[0] != videos or p.view_scores.shape[2] != classes:
            return f"view_scores must be ({videos}, views, {classes}), got shape {p.view_scores.shape}"
        if not np.allclose(p.view_scores.mean(axis=1), p.scores, **MEAN_TOLERANCE):
            return "scores are not the mean of view_scores over the views"
    if p.class_names is not None and p.class_names.shape != (classes,):
        return f"class_names must be ({classes},), one per class, got shape {p.class_names.shape}"
    return None
