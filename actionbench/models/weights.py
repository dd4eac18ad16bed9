"""Whole-model weights from a file: our checkpoints or those the reference repositories released.

Keys are mapped by name (see `reference_keys`) and then checked by shape; a file that fits no
convention is refused with the missing and unexpected keys of the closest one, so a user sees
at once whether they picked the wrong method, backbone, frame count or class count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..core.errors import UserError
from ..core.tensor_files import read_tensors
from ..plan.registry import KeyConvention, Method
from .reference_keys import without_wrappers

SHOWN_KEYS = 8


@dataclass
class KeyMatch:
    """What one naming convention makes of a state dict, against our model."""

    convention: KeyConvention
    state: dict[str, torch.Tensor] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrong_shape: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.missing) + len(self.unexpected) + len(self.wrong_shape)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, unwrapped from `{"model": ...}` (ours),
    `{"state_dict": ...}` (the reference repositories, mmaction2), `{"model_state": ...}`
    (PySlowFast's and TimeSformer's .pyth files) or `{"module": ...}` (VideoMAE's DeepSpeed
    checkpoints), and from DataParallel's `module.` prefix."""
    if not path.is_file():
        raise UserError(f"weights file '{path}' not found")
    state = read_tensors(path, "give a state dict of tensors")
    for wrapper in ("model", "state_dict", "model_state", "module"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"weights file '{path}' holds no state dict of tensors")
    return {key.removeprefix("module."): value for key, value in state.items()}


def file_sha256(path: Path) -> str:
    """Names an evaluation of released weights in records, whatever the file is called."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fit_shape(value: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """A tensor whose shape differs from ours in singleton axes only: a 3D conv kernel with a
    singleton time axis for a 2D conv (GST's (1, k, k) convs), a (1, 1, D) token for our (D,)
    (mmaction2's MViT class token), a Linear's matrix for our 1x1x1 conv (mmaction2's X3DHead
    fc1 for lin_5)."""
    squeezed = [size for size in value.shape if size != 1]
    if value.shape != shape and squeezed == [size for size in shape if size != 1]:
        return value.reshape(shape)
    return value


def match_keys(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor],
               convention: KeyConvention) -> KeyMatch:
    match = KeyMatch(convention)
    by_plain_name = {without_wrappers(key): key for key in own}
    for key, value in state.items():
        if convention.is_unused(key):
            match.unused.append(key)
            continue
        name = convention.rename(key)
        target = name if name in own else by_plain_name.get(without_wrappers(name))
        if target is None:
            match.unexpected.append(key)
            continue
        value = fit_shape(value, own[target].shape)
        if value.shape != own[target].shape:
            match.wrong_shape.append(f"{key} {tuple(value.shape)} (ours {target} "
                                     f"{tuple(own[target].shape)})")
        match.state[target] = value
    match.missing = [key for key in own if key not in match.state
                     and not key.endswith("num_batches_tracked")]
    return match


def _listed(keys: list[str]) -> str:
    more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
    return ", ".join(keys[:SHOWN_KEYS]) + more


def load_weights(model: nn.Module, method: Method, path: Path) -> KeyMatch:
    """Load every parameter and buffer of `model` from `path`, or raise a UserError."""
    state = read_state_dict(path)
    own = model.state_dict()
    matches = [match_keys(own, state, convention) for convention in method.key_conventions]
    best = min(matches, key=lambda match: match.problems)
    if best.problems:
        tried = ", ".join(f"{m.convention.name} ({m.problems} problems)" for m in matches)
        details = [f"{label}: {_listed(keys)}" for label, keys in
                   (("missing", best.missing), ("unexpected", best.unexpected),
                    ("wrong shape", best.wrong_shape)) if keys]
        raise UserError(f"weights file '{path}' does not fit {method.name} as configured (tried the "
                        f"key conventions of {tried}); closest, {best.convention.name}: "
                        + "; ".join(details))
    model.load_state_dict(best.state, strict=False)
    return best
