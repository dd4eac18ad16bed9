"""pytest plugin for bench/gpu.sh step 2: keep only the tests that need a CUDA GPU.

A test needs one when it carries a `skipif` mark whose reason names CUDA or a GPU, as the
suite's CUDA-only tests do (`cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason=
"needs a CUDA GPU")` in tests/test_engine_scale.py). Selecting by the mark rather than by a
list of names runs every such test, also those added later, with one command:

    PYTHONPATH=.:bench/gpu python -m pytest -p cuda_tests tests

On a machine without CUDA the selected tests are reported as skipped; when none is found,
pytest exits with status 5 ("no tests collected"), which bench/gpu.sh reports as a failure.
"""

from __future__ import annotations

import re

import pytest

NAMES_A_GPU = re.compile(r"\b(cuda|gpu)\b", re.IGNORECASE)


def needs_cuda(item: pytest.Item) -> bool:
    return any(NAMES_A_GPU.search(str(mark.kwargs.get("reason", ""))) for mark in item.iter_markers("skipif"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    others = [item for item in items if not needs_cuda(item)]
    if others:
        config.hook.pytest_deselected(items=others)
    items[:] = [item for item in items if needs_cuda(item)]
