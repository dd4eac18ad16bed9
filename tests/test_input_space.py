"""InputSpace: our ImageNet-normalised clips mapped to a reference's pixel space."""

from __future__ import annotations

import torch

from actionbench.core.model_input import IMAGENET_MEAN, IMAGENET_STD
from actionbench.models.input_space import InputSpace


def normalised(pixels: torch.Tensor) -> torch.Tensor:
    """RGB pixels in 0-1, (N, 3, ...) -> our network input."""
    shape = (1, 3) + (1,) * (pixels.dim() - 2)
    return (pixels - torch.tensor(IMAGENET_MEAN).view(shape)) / torch.tensor(IMAGENET_STD).view(shape)


def test_caffe_bgr_space_of_bn_inception():
    pixels = torch.tensor([0.2, 0.5, 0.9]).view(1, 3, 1, 1)
    caffe = InputSpace((104.0, 117.0, 128.0), (1.0, 1.0, 1.0), scale=255.0, bgr=True)
    expected = torch.tensor([0.9 * 255 - 104, 0.5 * 255 - 117, 0.2 * 255 - 128]).view(1, 3, 1, 1)
    assert torch.allclose(caffe(normalised(pixels)), expected, atol=1e-4)


def test_kinetics_space_of_pyslowfast_on_a_clip():
    pixels = torch.rand(2, 3, 4, 5, 5)
    kinetics = InputSpace((0.45, 0.45, 0.45), (0.225, 0.225, 0.225))
    assert torch.allclose(kinetics(normalised(pixels)), (pixels - 0.45) / 0.225, atol=1e-5)


def test_no_parameters_and_nothing_in_the_state_dict():
    space = InputSpace((0.5,) * 3, (0.5,) * 3)
    assert list(space.parameters()) == [] and space.state_dict() == {}
