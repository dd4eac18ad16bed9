"""Late fusion of saved predictions: two streams (RGB + flow), clips evaluated in separate runs,
or an ensemble of seeds, combined video by video into one set of predictions that is scored
like any other. The references do it in their test scripts: the weighted sum of several
models' scores (mit-han-lab/temporal-shift-module@1f6a834:test_models.py, `--coeff`), and the
mean of the softmax of clips evaluated one per run (Yu0tang/ESTI@ec9f6a0:pkl_to_results.py;
`probabilities` fusion of those runs gives its top-1 and top-5).

Averaging happens in one of two spaces, with weights normalised to sum to 1:

- `logits`: the weighted mean of the runs' logits. A run saved as probabilities takes part
  with its log-probabilities, which differ from its logits by one constant per video
  (log-sum-exp), so the fused softmax is the same as with the logits themselves; only a
  probability that underflowed to 0 in float32 is clamped to the smallest positive float32.
- `probabilities`: the weighted mean of the runs' softmax probabilities (logits are turned
  into probabilities first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.special import softmax

from ..core.errors import UserError
from ..store.predictions import SCORE_KINDS, Predictions, require_same_videos

SPACES = SCORE_KINDS


def fuse(runs: Mapping[str, Predictions], space: str = "logits",
         weights: Sequence[float] | None = None) -> Predictions:
    """The fused predictions of `runs` (run name -> predictions), of kind `space`. Runs must
    be evaluated on the same video list with the same classes (UserError otherwise)."""
    names = list(runs)
    if len(names) < 2:
        raise UserError(f"fuse needs at least two runs, got {len(names)}: {', '.join(names) or 'none'}")
    if space not in SPACES:
        raise UserError(f"fusion space '{space}': expected one of {', '.join(SPACES)}")
    weights = normalised_weights(names, weights)
    first = runs[names[0]]
    for name in names[1:]:
        require_same_videos("fuse", names[0], first, name, runs[name])
    fused = sum(weight * _in_space(runs[name], space) for name, weight in zip(names, weights))
    names_of = next((run.class_names for run in runs.values() if run.class_names is not None), None)
    return Predictions(fused, first.labels, first.video_ids, space, class_names=names_of)


def normalised_weights(names: list[str], weights: Sequence[float] | None) -> np.ndarray:
    """One weight per run, summing to 1 (equal without `weights`); what a fused record stores."""
    if weights is None:
        return np.full(len(names), 1 / len(names))
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(names),):
        raise UserError(f"fusion weights: {len(weights)} given for {len(names)} runs ({', '.join(names)})")
    if not (np.isfinite(weights).all() and (weights > 0).all()):
        raise UserError(f"fusion weights {weights.tolist()}: expected positive numbers, one per run")
    return weights / weights.sum()


def _in_space(predictions: Predictions, space: str) -> np.ndarray:
    scores = predictions.scores.astype(np.float64)
    if predictions.kind == space:
        return scores
    if space == "logits":
        return np.log(np.maximum(scores, np.finfo(np.float32).tiny))
    return softmax(scores, axis=1)
