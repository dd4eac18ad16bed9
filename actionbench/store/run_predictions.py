"""A run's predictions file, `runs/<id>/predictions.npz`: every evaluation of the run rewrites
it (atomically, on rank 0), so when the run ends it holds the evaluation the record's metrics
come from, and the record names it with its digest (`PredictionsEntry`).

The evaluation yields scores and labels in list order, less the videos that `data.on_error:
skip` dropped; the writer pairs them with the list's video ids the same way, and checks the
pairing against the labels before it writes anything.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from pydantic import BaseModel

from ..core.distributed import all_gather, is_main
from ..core.errors import UserError
from .predictions import Predictions, non_finite, read_predictions, write_predictions

PREDICTIONS_FILE = "predictions.npz"
log = logging.getLogger(__name__)


class PredictionsEntry(BaseModel):
    """What a record says about its predictions file."""

    file: str
    """Relative to the run folder."""
    sha256: str
    kind: str
    """'probabilities' or 'logits'."""
    videos: int
    classes: int
    views: int
    video_list_sha256: str
    """Two runs are paired video by video when these agree (`predictions.video_list_sha256`)."""

    @classmethod
    def of(cls, predictions: Predictions, file: str, sha256: str) -> PredictionsEntry:
        return cls(file=file, sha256=sha256, kind=predictions.kind, videos=predictions.num_videos,
                   classes=predictions.num_classes, views=predictions.views,
                   video_list_sha256=predictions.video_list_sha256)


def entry_of(run_dir: Path) -> PredictionsEntry | None:
    """The entry of the predictions file in `run_dir`, if it has one."""
    path = Path(run_dir) / PREDICTIONS_FILE
    if not path.is_file():
        return None
    return PredictionsEntry.of(read_predictions(path), PREDICTIONS_FILE,
                               hashlib.sha256(path.read_bytes()).hexdigest())


class PredictionsWriter:
    """`evaluate`'s `on_predictions`: saves each evaluation of a run.

    `videos` are the evaluated list's (video id, label) pairs in order, `skipped` tells which
    video ids this process's fault policy has dropped so far, `class_names` the dataset's
    classes.txt. `entry` names what the file holds now: a run resumed after its last epoch
    evaluates nothing more, and its file is the one its last epoch wrote."""

    def __init__(self, run_dir: Path, videos: Sequence[tuple[str, int | None]],
                 skipped: Callable[[], Collection[str]], class_names: Sequence[str] | None = None):
        self.path = Path(run_dir) / PREDICTIONS_FILE
        self.videos = list(videos)
        self.skipped = skipped
        self.class_names = class_names
        self.entry = None
        if is_main():
            try:
                self.entry = entry_of(run_dir)
            except UserError as exc:  # rewritten by the next evaluation; never named as it is
                log.warning("%s", exc)

    def __call__(self, scored) -> None:
        """`scored`: what `engine.evaluate.predict` returns (scores, labels, kind, view_scores)."""
        dropped = set().union(*all_gather(set(self.skipped())))  # each process skips its own share
        if not is_main():
            return
        kept = [(video, label) for video, label in self.videos if video not in dropped]
        labels = scored.labels.tolist()
        # NaN scores come from diverged weights: training fails the run on them at its next
        # checkpoint, so this evaluation is not worth a file.
        problem = self._mismatch(kept, labels) or non_finite(scored.scores.numpy())
        if problem:
            log.error("predictions not saved: %s", problem)
            self.path.unlink(missing_ok=True)  # never leave an earlier evaluation's file named
            self.entry = None
            return
        view_scores = None if scored.view_scores is None else scored.view_scores.numpy()
        predictions = Predictions(scored.scores.numpy(), labels, [video for video, _ in kept], scored.kind,
                                  view_scores, self.class_names)
        digest = write_predictions(self.path, predictions)
        self.entry = PredictionsEntry.of(predictions, PREDICTIONS_FILE, digest)

    @staticmethod
    def _mismatch(kept: list[tuple[str, int | None]], labels: list[int]) -> str | None:
        if any(label is None for _, label in kept):
            return "the evaluated list has no labels"
        if len(kept) != len(labels):
            return (f"{len(labels)} videos were scored but {len(kept)} listed videos were not skipped "
                    "(a video that failed once and decoded later)")
        if [label for _, label in kept] != labels:
            return "the scored labels are not the list's labels in order"
        return None
