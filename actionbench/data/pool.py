"""One way to run per-video work (frame extraction, frame counting) over many processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from typing import TypeVar

from tqdm import tqdm

Item = TypeVar("Item")
Result = TypeVar("Result")


def run_parallel(function: Callable[[Item], Result], items: Sequence[Item], jobs: int, desc: str,
                 progress: bool = True) -> Iterator[tuple[Item, Result]]:
    """(item, function(item)) for every item, in order, under a tqdm bar; in `jobs` worker
    processes, or in this one for jobs=1. `function` must be a module-level function that
    returns its failures as values: an exception stops the whole run."""
    parallel = jobs > 1 and len(items) > 1
    chunk = max(1, min(64, len(items) // (4 * jobs)))
    with (tqdm(total=len(items), desc=desc, unit="video", disable=not progress or not items) as bar,
          ProcessPoolExecutor(max_workers=jobs) if parallel else nullcontext() as pool):
        results = pool.map(function, items, chunksize=chunk) if parallel else map(function, items)
        for item, result in zip(items, results):
            bar.update()
            yield item, result
