"""Random number generators: derived seeds, and the state of every generator a run draws
from (torch, CUDA, NumPy, Python) captured into and restored from checkpoints.

A checkpoint stores these states so that a run resumed in the middle of an epoch draws the
same dropout masks and GPU-side augmentations as the run that was interrupted. They are
stored as tensors and plain Python values only, so the checkpoint still loads with
`torch.load(weights_only=True)`.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def derive_seed(*keys: int) -> int:
    """A well-mixed 32-bit seed from integer keys, e.g. (train.seed, epoch, rank): nearby keys
    give unrelated streams, unlike `seed + epoch`."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # every CUDA device too


def capture() -> dict[str, Any]:
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
                  "position": position, "has_gauss": has_gauss, "gauss": gauss},
        "python": random.getstate(),
    }


def restore(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy = state["numpy"]
    np.random.set_state((numpy["kind"], numpy["keys"].numpy().astype(np.uint32), numpy["position"],
                         numpy["has_gauss"], numpy["gauss"]))
    random.setstate(state["python"])
