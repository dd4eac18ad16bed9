"""Reading tensor files safely: every checkpoint, pretrained or weights file goes through
`read_tensors`, so no file that a user hands actionbench can run code when it is loaded."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from .errors import UserError


def read_tensors(path: Path, hint: str) -> Any:
    """`torch.load(weights_only=True)`: tensors and plain containers only, so that a file can
    never run code. Anything else is refused with a one-line reason and `hint` (what to do)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        named = re.search(r"GLOBAL (\S+)", str(exc))
        payload = f" (it refers to {named.group(1)})" if named else ""
        raise UserError(f"{path}: refused: the file holds Python objects, not only tensors"
                        f"{payload}, and checkpoints are loaded with weights_only=True so that "
                        f"they cannot run code; {hint}") from None
    except Exception as exc:
        reason = str(exc).strip().split("\n")[0].split(". ")[0]
        raise UserError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {reason}); "
                        f"{hint}") from None
