"""From a plan to DataLoaders: the synthetic set is generated on first use, and the lists and
frame folders are checked before any training starts (under `data.on_error: skip`, entries
that fail the check are left out)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..core.distributed import per_process_batch, rank, world_size
from ..core.errors import UserError
from ..core.locks import file_lock
from ..plan.plan import DataPlan, Plan
from ..plan.protocol import test_mode
from . import synthmotion
from .annotations import VideoRecord, drop_short, read_list
from .catalog import CLASSES_FILE, Layout, read_class_names, split_template
from .clip_dataset import ClipDataset
from .faults import FaultPolicy, GuardedLoader, SampleFault
from .frames import FrameFolderDataset, frame_problem
from .gpu_decode import EncodedFrameFolder, keep_encoded
from .gpu_decode import enabled as gpu_decode_enabled
from .samplers import SeededSamples, ShardSampler, TrainSampler
from .sampling import ClipSampler
from .transforms import (
    FlipWithLabelSwap,
    apply,
    plan_eval_transform,
    plan_train_transform,
    read_flip_label_map,
)
from .videos import VideoFileDataset, is_video, video_problem


def prepare_dataset(plan: Plan) -> DataPlan:
    """The plan's data, generating the synthetic set when it is missing."""
    data = plan.data
    if data.synthetic and not synthmotion.is_complete(data.root):
        # Shards started together on a fresh machine must not generate it twice at once; a
        # complete copy needs no lock, so it may lie in a folder this user cannot write.
        with file_lock(data.root.parent / f".{data.root.name}.lock"):
            if not synthmotion.is_complete(data.root):
                synthmotion.generate(data.root)
    elif not data.root.is_dir():
        raise UserError(f"data.root: dataset folder '{data.root}' for '{plan.spec.data.dataset}' "
                        f"not found; set data.root (README: 'Datasets')")
    return data


@dataclass(frozen=True)
class Storage:
    """How a list's videos are stored: JPEG frame folders named like `template`, or video
    files. It decides the dataset class that reads them and the check run before training."""

    layout: Layout
    template: str

    def dataset(self, **kwargs) -> ClipDataset:
        if self.layout == "videos":
            return VideoFileDataset(**kwargs)
        return FrameFolderDataset(template=self.template, **kwargs)

    def problem(self, root: Path, record: VideoRecord) -> str | None:
        if self.layout == "videos":
            return video_problem(root, record)
        return frame_problem(root, record, self.template)


def storage_of(list_path: Path, records: list[VideoRecord], layout: Layout | None,
               template: str) -> Storage:
    """`data.layout`, else what the list names: video files (known suffixes) or frame folders.
    Going by the list, not the catalog, lets frames extracted from a dataset that ships videos
    be used without a setting."""
    if layout is None:
        kinds = {is_video(record.path) for record in records}
        if len(kinds) > 1:
            raise UserError(f"{list_path}: names both video files and frame folders; use one kind "
                            f"per list, or set data.layout")
        layout = "videos" if kinds == {True} else "frames"
    split_template(template)
    return Storage(layout, template)


def flip_pairs(data: DataPlan, num_classes: int) -> dict[int, int] | None:
    """The label-swap map of `data.flip_label_map` (class names from the classes.txt that
    `data convert` writes beside the lists), or None."""
    if data.flip_label_map is None:
        return None
    classes = data.root / CLASSES_FILE
    names = read_class_names(classes) if classes.is_file() else None
    return read_flip_label_map(data.flip_label_map, num_classes, names)


def readable_records(list_path: Path, plan: Plan, policy: FaultPolicy, kind: str
                     ) -> tuple[list[VideoRecord], Storage]:
    """The list's entries of at least `data.min_frames` frames (`policy` counts the others,
    per `kind` of list) whose frames or video files are there, and how they are stored; the
    unreadable ones go to `policy` (which stops the run under `fail`) with the list file and
    line in the message."""
    entries, short = drop_short(read_list(list_path, plan.num_classes), plan.spec.data.min_frames)
    policy.drop_short(kind, len(short))
    if not entries:
        raise UserError(f"{list_path}: every entry is shorter than data.min_frames "
                        f"({plan.spec.data.min_frames} frames)")
    storage = storage_of(list_path, entries, plan.spec.data.layout, plan.data.template)
    root = plan.data.root
    records, faults = [], []
    for record in entries:
        problem = storage.problem(root, record)
        if problem is None:
            records.append(record)
        else:
            faults.append(SampleFault(record.path, f"{list_path}:{record.line}: {problem}"))
    policy.handle(faults)
    if not records:
        raise UserError(f"{list_path}: no entry is readable ({len(faults)} skipped), e.g. "
                        f"{faults[0].message}")
    return records, storage


def build_loaders(plan: Plan, train: bool = True, device: torch.device | None = None
                  ) -> tuple[DataLoader | None, DataLoader]:
    """(train loader or None, evaluation loader) for `plan` on `device` (default: CUDA when
    available). Both share one `FaultPolicy` (`loader.policy`), which knows what was skipped.

    In a run of several processes each loads its share: `train.batch_size / processes` clips
    of every training batch (see `samplers.TrainSampler`, which `fit` sets to each epoch) and
    its slice of the evaluation list (`samplers.ShardSampler`)."""
    spec, dataset, protocol = plan.spec, prepare_dataset(plan), plan.protocol
    data = spec.data
    policy = FaultPolicy(data.on_error)
    sampler = ClipSampler(data.frames, data.sampling, data.dense_stride, spec.eval.clips,
                          plan.method.frames_per_segment, protocol.train_rule, protocol.test_rule,
                          protocol.test_frames, test_mode(spec))
    common = dict(root=dataset.root, sampler=sampler)
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    workers = dict(prefetch_factor=data.prefetch_factor,
                   persistent_workers=data.persistent_workers) if data.workers else {}
    # Each loader has its own generator for its workers' base seed, which DataLoader would
    # otherwise draw from the global generator, shifting the training run's random streams.
    loader_args = dict(policy=policy, num_workers=data.workers,
                       pin_memory=data.pin_memory and device.type == "cuda", **workers)
    records, storage = readable_records(dataset.val_list, plan, policy, "eval")
    val_set = storage.dataset(records=records, transform=functools.partial(apply, plan_eval_transform(plan)),
                              train=False, **common)
    val_loader = GuardedLoader(val_set, batch_size=spec.eval.batch_size,
                               sampler=ShardSampler(len(val_set), world_size(), rank()),
                               generator=torch.Generator().manual_seed(spec.train.seed), **loader_args)
    if not train:
        return None, val_loader
    records, storage = readable_records(dataset.train_list, plan, policy, "train")
    pairs = flip_pairs(dataset, plan.num_classes)
    if gpu_decode_enabled(data, device):
        if storage.layout == "videos" or pairs is not None:
            raise UserError("data.gpu_decode: decodes JPEG frame folders without label swaps; the "
                            "training list names video files or data.flip_label_map is set")
        train_set = EncodedFrameFolder(records=records, transform=keep_encoded, train=True,
                                       template=storage.template, **common)
    else:
        flip = protocol.flip and pairs is None  # with a map, FlipWithLabelSwap does the flipping
        train_set = storage.dataset(
            records=records, transform=functools.partial(apply, plan_train_transform(plan, flip)),
            train=True, **common)
        if pairs is not None:
            train_set = FlipWithLabelSwap(train_set, pairs)
    batch_size = per_process_batch(spec.train.batch_size)
    sampler = TrainSampler(train_set, world_size(), rank(), spec.train.seed)
    train_loader = GuardedLoader(SeededSamples(train_set), batch_size=batch_size, sampler=sampler,
                                 drop_last=sampler.num_samples > batch_size,
                                 generator=torch.Generator().manual_seed(spec.train.seed), **loader_args)
    return train_loader, val_loader
