"""Which videos each process loads, in which order, and with which random draws.

Training: `TrainSampler` is a DistributedSampler (a seeded shuffle per epoch, one share per
process; with one process, the whole set) that can start an epoch after the batches a resumed
run has already trained on, and that gives every sample its own seed. The seed depends only
on (train.seed, epoch, video), so a clip's frames and crop do not depend on which worker loads
it, on the number of workers, or on where a resumed epoch starts.

Evaluation: `ShardSampler` gives each process a contiguous slice of the list, without the
padding a DistributedSampler adds, so every video is scored exactly once; concatenating the
slices in rank order restores the list order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler, Sampler


class SeededIndex(int):
    """A dataset index that carries the seed of its sample's random draws (an int, so that
    wrappers that look records up by index keep working)."""

    seed: int

    def __new__(cls, index: int, seed: int) -> SeededIndex:
        value = super().__new__(cls, index)
        value.seed = seed
        return value

    def __reduce__(self):
        return SeededIndex, (int(self), self.seed)


class TrainSampler(DistributedSampler):
    """Shuffled, sharded, resumable; yields `SeededIndex`es for `SeededSamples`."""

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, seed: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Draw epoch `epoch`'s order, leaving out this process's first `skip` samples."""
        super().set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[SeededIndex]:
        seeds = np.random.SeedSequence([self.seed, self.epoch]).generate_state(len(self.dataset))
        for index in itertools.islice(super().__iter__(), self.skip, None):
            yield SeededIndex(index, int(seeds[index]))

    def __len__(self) -> int:
        return max(self.num_samples - self.skip, 0)


class SeededSamples(Dataset):
    """`dataset` with each sample's random draws (torch's generator, which the sampling and the
    transforms use) seeded from its `SeededIndex`, without disturbing the caller's generator."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        self.records = dataset.records

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: SeededIndex) -> Any:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(index.seed)
            return self.dataset[int(index)]


class ShardSampler(Sampler[int]):
    """Process `rank`'s contiguous slice of `size` items; the slices cover every item once."""

    def __init__(self, size: int, num_replicas: int, rank: int):
        self.start = size * rank // num_replicas
        self.stop = size * (rank + 1) // num_replicas

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start
