"""`data convert`: official annotations + the videos on disk -> our annotation lists.

Writes into --out (the folder that becomes `data.root`):
- train.txt, val.txt and, where the dataset has an unlabelled test split, test.txt, in the
  catalog's list format; a path is a frame folder or video file relative to --out (absolute
  when --root is elsewhere), the frame count is read from the folder or the video's container;
- classes.txt, line i naming label i (for reading results and for `data.flip_label_map`);
- missing.txt, 'split<TAB>video<TAB>reason' for every annotated video that is not written:
  not found below --root, found twice, unreadable, with badly numbered frames, or with a path
  a list cannot hold. Nothing is dropped silently.

When --root holds none of the annotated videos in the layout looked for (the catalog's, or
--layout) but holds some in the other one (frame folders where the dataset ships videos, as
the TSM and PAN preparation scripts leave them, or the reverse), the other layout is used and
a warning says so; frame folders whose files do not follow the template are indexed by the
numbering they use, and the warning names the `data.template` to set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ...core.atomic import write_text
from ...core.errors import UserError
from ..annotations import VideoRecord, write_list
from ..catalog import CLASSES_FILE, DatasetInfo, Layout, ListFormat, get_dataset, read_class_names
from ..pool import run_parallel
from . import CONVERTERS
from .common import Annotations, Entry
from .media import Media, frames_or_problem, index_media, infer_template
from .subset import keep_classes

MISSING_FILE = "missing.txt"


@dataclass(frozen=True)
class SplitReport:
    split: str
    list_file: str | None
    """None when no video of the split was found, so no list was written."""
    entries: int
    written: int


@dataclass
class ConvertReport:
    out: Path
    classes: int
    splits: list[SplitReport] = field(default_factory=list)
    missing: int = 0
    warnings: list[str] = field(default_factory=list)


def convert(dataset: str, annotations: Path, root: Path, out: Path | None = None, split: int = 1,
            classes: Path | None = None, layout: Layout | None = None, template: str | None = None,
            list_format: ListFormat | None = None, jobs: int = 1,
            progress: bool = True) -> ConvertReport:
    info = get_dataset(dataset)
    read = _read_annotations(info, Path(annotations), split, classes)
    out = Path(out or info.root)
    report = ConvertReport(out, len(read.classes))
    if len(read.classes) != info.num_classes:
        report.warnings.append(f"{len(read.classes)} classes in the annotations; the catalog's "
                               f"{dataset} has {info.num_classes}")
    layout, media = _media(read, Path(root), layout or info.layout, template or info.template, report)
    missing: list[str] = []
    for split_name, entries in read.splits.items():
        records = []
        for entry, record in _records(entries, media, Path(root), out, layout, jobs, progress):
            if isinstance(record, str):
                missing.append(f"{split_name}\t{entry.names[0]}\t{record}\n")
            else:
                records.append(record)
        list_file = _list_name(info, split_name)
        if records:
            labelled = records[0].label is not None
            write_list(out / list_file, records,
                       fmt=(list_format or info.list_format) if labelled else "num_frames")
        report.splits.append(SplitReport(split_name, list_file if records else None, len(entries),
                                         len(records)))
    write_text(out / CLASSES_FILE, "".join(f"{name}\n" for name in read.classes))
    report.missing = len(missing)
    if missing:
        write_text(out / MISSING_FILE, "".join(missing))
    else:
        (out / MISSING_FILE).unlink(missing_ok=True)
    return report


def _media(read: Annotations, root: Path, layout: Layout, template: str,
           report: ConvertReport) -> tuple[Layout, dict[str, list[Media]]]:
    """The layout to list and its index: `layout`, unless it finds none of the annotated
    videos and the other layout finds some."""
    media = index_media(root, layout, template)
    entries = [entry for split in read.splits.values() for entry in split]
    if _found(entries, media):
        return layout, media
    other: Layout = "frames" if layout == "videos" else "videos"
    other_template = (infer_template(root) or template) if other == "frames" else template
    other_media = index_media(root, other, other_template)
    found = _found(entries, other_media)
    if not found:
        return layout, media
    kinds = {"frames": "frame folders", "videos": "video files"}
    named = (f"; frames named like '{other_template}': set data.template: '{other_template}' in the "
             f"experiments that use these lists" if other == "frames" and other_template != template else "")
    report.warnings.append(f"no {kinds[layout]} below {root} are named as annotated videos, but {found} "
                           f"{kinds[other]} are: listed those (--layout {other} says so){named}")
    return other, other_media


def _found(entries: list[Entry], media: dict[str, list[Media]]) -> int:
    return sum(any(name in media for name in entry.names) for entry in entries)


def _read_annotations(info: DatasetInfo, folder: Path, split: int,
                      classes: Path | None) -> Annotations:
    """The dataset's annotations (its full dataset's for a subset), cut to `classes`."""
    source = get_dataset(info.subset_of) if info.subset_of else info
    if source.name not in CONVERTERS:
        raise UserError(f"no converter for '{info.name}' (it has no public annotation format); "
                        f"write its train.txt and val.txt by hand (README: 'Datasets'); converters "
                        f"exist for: {', '.join(sorted(CONVERTERS))}")
    converter = CONVERTERS[source.name]
    if not 1 <= split <= converter.splits:
        raise UserError(f"--split: {source.name} has {converter.splits} official split(s), got {split}")
    if info.subset_of and classes is None:
        raise UserError(f"{info.name} is a subset of {source.name} defined by a class-list file: "
                        f"pass --classes FILE ({info.num_classes} class names, one per line)")
    if not folder.is_dir():
        raise UserError(f"--annotations: folder '{folder}' not found; expected {converter.files}")
    read = converter.read(folder, split)
    return read if classes is None else keep_classes(read, read_class_names(classes), Path(classes))


def _records(entries: list[Entry], media: dict[str, list[Media]], root: Path, out: Path,
             layout: Layout, jobs: int, progress: bool) -> Iterator[tuple[Entry, VideoRecord | str]]:
    """Each entry with its list record, or the reason it cannot be listed; video files are
    opened (in `jobs` processes) to count their frames."""
    found = [(entry, _find(entry, media, root, layout)) for entry in entries]
    videos = [item.path for _, item in found if isinstance(item, Media) and item.frames is None]
    counts = dict(run_parallel(frames_or_problem, videos, jobs, "count frames", progress))
    for entry, item in found:
        if isinstance(item, Media):
            frames = counts[item.path] if item.frames is None else item.frames
            path = _list_path(item.path, out)
            if isinstance(frames, str):
                item = frames
            elif any(char.isspace() for char in path):
                item = (f"{path}: the path contains whitespace, which list files cannot hold; "
                        f"rename it (`data extract` writes '_' for whitespace)")
            else:
                item = VideoRecord(path, 1, frames, entry.label)
        yield entry, item


def _find(entry: Entry, media: dict[str, list[Media]], root: Path, layout: Layout) -> Media | str:
    for name in entry.names:
        hits = media.get(name, [])
        if len(hits) > 1:
            return f"ambiguous: {' and '.join(str(hit.path) for hit in hits)}"
        if hits:
            return hits[0].problem or hits[0]
    kind = "frame folder" if layout == "frames" else "video file"
    return f"no {kind} named {' or '.join(repr(name) for name in entry.names)} below {root}"


def _list_path(path: Path, out: Path) -> str:
    """`path` relative to the list's folder when it lies inside it, else absolute."""
    path, out = Path(os.path.abspath(path)), Path(os.path.abspath(out))
    return path.relative_to(out).as_posix() if path.is_relative_to(out) else path.as_posix()


def _list_name(info: DatasetInfo, split: str) -> str:
    return {"train": info.train_list, "val": info.val_list}.get(split) or info.test_list or "test.txt"
