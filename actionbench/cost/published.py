"""Our cost at the settings a method's authors published theirs, for the side-by-side table
(`list costs`) and the test that holds every method to its published figures."""

from __future__ import annotations

import functools

import torch

from ..plan.registry import BuildContext, Method, PublishedCost, Setting
from .clip import example_clip
from .flops import count_flops


def build_at(method: Method, setting: Setting) -> torch.nn.Module:
    """The method's network at a published setting, with fixed initial weights."""
    context = BuildContext(backbone=setting.backbone, num_classes=setting.num_classes,
                           frames=setting.frames, dropout=0.0,
                           options=method.options(**dict(setting.options)),
                           input_size=setting.input_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return method.build(context)


def measure_setting(method: Method, setting: Setting) -> dict:
    """fvcore's count (see flops.py) for one view at `setting`."""
    return dict(_count(method, setting))


@functools.cache
def _count(method: Method, setting: Setting) -> dict:
    """Traced once per process: the cost listing and the tests ask for the same settings."""
    clip = example_clip(setting.frames * method.frames_per_segment, setting.input_size)
    return count_flops(build_at(method, setting), clip)


def measure_published(method: Method) -> list[tuple[PublishedCost, dict]]:
    """Each of the method's published costs with ours at its setting."""
    return [(published, measure_setting(method, published.setting))
            for published in method.published]
