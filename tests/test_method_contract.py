"""The contract every attention-style 2D method shares: shapes, gradients, frame order.

(Methods with option variants test the same contract per variant in their own files.)
"""

from __future__ import annotations

import pytest
import torch
from conftest import build_method

METHODS = ["dptam", "esti"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("frames, batch", [(2, 1), (4, 3)])
def test_output_shape(method, frames, batch):
    with torch.no_grad():
        out = build_method(method, frames)(torch.randn(batch, 3, frames, 32, 32))
    assert out.shape == (batch, 10)


@pytest.mark.parametrize("method", METHODS)
def test_gradients_reach_every_parameter(method):
    model = build_method(method).train()
    out = model(torch.randn(2, 3, 4, 32, 32))
    (out * torch.randn_like(out)).sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []


@pytest.mark.parametrize("method", METHODS + ["tsn"])
def test_reversing_the_frames_changes_the_output_of_temporal_methods_only(method):
    model, clips = build_method(method), torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        forward, backward = model(clips), model(clips.flip(dims=[2]))
    # the fc starts at N(0, 0.001), so logits are ~1e-3: the tolerance follows their scale
    assert forward.abs().max() > 1e-4
    same = torch.allclose(forward, backward, rtol=0, atol=1e-3 * forward.abs().max().item())
    assert same == (method == "tsn")
