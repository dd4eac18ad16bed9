"""SlowFast: the pathways' frames, the layouts, and the three zoos' names."""

from __future__ import annotations

import pytest
import torch
from reference_key_files import assert_maps_onto, reference_state

from actionbench.core.errors import UserError
from actionbench.models.input_space import InputSpace
from actionbench.models.slowfast import (
    MMACTION2_SLOWFAST_KEYS,
    PYSLOWFAST_KEYS,
    PYTORCHVIDEO_SLOWFAST_KEYS,
    SlowFastOptions,
    slow_frame_indices,
    slowfast,
)
from actionbench.models.weights import load_weights
from actionbench.plan.registry import METHODS, BuildContext

EIGHT_BY_EIGHT = {"alpha": 4, "fusion_kernel": 7}


def build(frames: int = 32, classes: int = 400, **options):
    torch.manual_seed(0)
    return slowfast(BuildContext("resnet50", classes, frames, 0.0, SlowFastOptions(**options)))


def test_slow_frames_follow_pyslowfast_or_mmaction2():
    assert slow_frame_indices(32, 4, "pyslowfast").tolist() == [0, 4, 8, 13, 17, 22, 26, 31]
    assert slow_frame_indices(32, 4, "mmaction2").tolist() == [0, 4, 8, 12, 16, 20, 24, 28]
    assert slow_frame_indices(32, 8, "pyslowfast").tolist() == [0, 10, 20, 31]


@pytest.mark.parametrize("name, options, convention", [
    ("pyslowfast_slowfast_r50_4x16", {}, PYSLOWFAST_KEYS),
    ("pytorchvideo_slowfast_r50_8x8", EIGHT_BY_EIGHT, PYTORCHVIDEO_SLOWFAST_KEYS),
    ("mmaction2_slowfast_r50_4x16", {"layout": "mmaction2"}, MMACTION2_SLOWFAST_KEYS),
])
def test_reference_checkpoints_map_onto_ours(name, options, convention):
    assert_maps_onto(build(**options), name, convention)


def test_a_pytorchvideo_file_loads_through_the_method(tmp_path):
    """The state dict alone: PyTorchVideo's and PySlowFast's .pyth files wrap it in
    `model_state`, which `read_state_dict` does not unwrap yet (docs/methods/slowfast.md)."""
    state = {key: torch.randn(value.shape) if value.dtype.is_floating_point else value
             for key, value in reference_state("pytorchvideo_slowfast_r50_8x8").items()}
    torch.save(state, tmp_path / "SLOWFAST_8x8_R50.pyth")
    model = build(**EIGHT_BY_EIGHT)
    match = load_weights(model, METHODS["slowfast"], tmp_path / "SLOWFAST_8x8_R50.pyth")
    assert match.convention is PYTORCHVIDEO_SLOWFAST_KEYS
    assert torch.equal(model.s3_fuse.conv_f2s.weight,
                       state["blocks.2.multipathway_fusion.conv_fast_to_slow.weight"])
    assert torch.equal(model.head.fc.bias, state["blocks.6.proj.bias"])


def test_layouts_differ_where_the_references_do():
    pyslowfast, mmaction2 = build(frames=8), build(frames=8, layout="mmaction2")
    assert isinstance(pyslowfast.input_space, InputSpace)
    assert isinstance(mmaction2.input_space, torch.nn.Identity)
    assert isinstance(pyslowfast.s1_fuse.bn, torch.nn.BatchNorm3d)
    assert isinstance(mmaction2.s1_fuse.bn, torch.nn.Identity)
    assert not pyslowfast.head.fast_first and mmaction2.head.fast_first


def test_stage_widths_and_temporal_kernels():
    model = build(frames=8)
    assert model.s2.pathway0_res0.branch2.a.in_channels == 64 + 16
    assert model.s5.pathway0_res0.branch2.a.in_channels == 1024 + 256
    assert model.s3.pathway0_res0.branch2.a.kernel_size == (1, 1, 1)
    assert model.s4.pathway0_res0.branch2.a.kernel_size == (3, 1, 1)
    assert model.s2.pathway1_res0.branch2.a.kernel_size == (3, 1, 1)
    assert model.head.fc.in_features == 2048 + 256


def test_clip_length_must_be_a_multiple_of_alpha():
    with pytest.raises(UserError, match="multiple of 8"):
        build(frames=12)
    with torch.no_grad():
        assert build(frames=8, classes=5).eval()(torch.randn(1, 3, 8, 32, 32)).shape == (1, 5)
