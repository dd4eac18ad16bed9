"""From a spec's `data:` section to DataLoaders: the catalog supplies defaults, the synthetic
set is generated on first use, and the lists are checked before any training starts."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..errors import UserError
from ..models.registry import get_method
from ..schema import ExperimentSpec
from . import synthmotion
from .annotations import read_list
from .catalog import DatasetInfo, get_dataset
from .frames import FrameFolderDataset
from .sampling import ClipSampler
from .transforms import apply, default_scale_size, eval_transform, train_transform


@dataclass(frozen=True)
class DataPaths:
    root: Path
    train_list: Path
    val_list: Path


def resolve_paths(spec: ExperimentSpec, info: DatasetInfo) -> DataPaths:
    root = Path(spec.data.root or info.root)
    return DataPaths(root, root / (spec.data.train_list or info.train_list),
                     root / (spec.data.val_list or info.val_list))


def prepare_dataset(spec: ExperimentSpec) -> DataPaths:
    """Resolve the dataset's files, generating the synthetic set when it is missing."""
    info = get_dataset(spec.data.dataset)
    paths = resolve_paths(spec, info)
    if info.synthetic:
        if not synthmotion.is_complete(paths.root):
            synthmotion.generate(paths.root)
    elif not paths.root.is_dir():
        raise UserError(f"data.root: dataset folder '{paths.root}' for '{info.name}' not found; "
                        f"set data.root (README: 'Adding a dataset')")
    return paths


def build_loaders(spec: ExperimentSpec, train: bool = True) -> tuple[DataLoader | None, DataLoader]:
    """(train loader or None, evaluation loader) for `spec`."""
    info = get_dataset(spec.data.dataset)
    paths = prepare_dataset(spec)
    data = spec.data
    scale_size = data.scale_size or default_scale_size(data.input_size)
    sampler = ClipSampler(data.frames, data.sampling, data.dense_stride, spec.eval.clips,
                          get_method(spec.model.method).frames_per_segment)
    common = dict(root=paths.root, template=info.template, sampler=sampler)
    loader_args = dict(num_workers=data.workers, pin_memory=torch.cuda.is_available())
    val_set = FrameFolderDataset(
        records=read_list(paths.val_list, info.num_classes),
        transform=functools.partial(apply, eval_transform(data.input_size, scale_size,
                                                          spec.eval.crops)),
        train=False, **common)
    val_loader = DataLoader(val_set, batch_size=spec.eval.batch_size, shuffle=False, **loader_args)
    if not train:
        return None, val_loader
    train_set = FrameFolderDataset(
        records=read_list(paths.train_list, info.num_classes),
        transform=functools.partial(apply, train_transform(data.input_size, info.flip)),
        train=True, **common)
    # Fresh workers every epoch, seeded from the generator that `fit` reseeds per epoch: an
    # epoch's samples then depend only on (seed, epoch), so a resumed run sees the same data.
    generator = torch.Generator().manual_seed(spec.train.seed)
    train_loader = DataLoader(train_set, batch_size=spec.train.batch_size, shuffle=True,
                              drop_last=len(train_set) > spec.train.batch_size,
                              generator=generator, **loader_args)
    return train_loader, val_loader
