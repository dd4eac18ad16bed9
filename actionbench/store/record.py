"""The result record: one typed object per run, written as `result.json` when the run ends.

One constructor (`RunRecord.create`, from the plan and what the run measured) and one reader
(`read_record`) that every consumer goes through: the run store to skip finished work, the
report for its tables. The reader also reads the records of earlier versions, and the run
folders that have no record yet (`unfinished_record`), so no layer stands in for a record
with a dict of its own.

Version history:
1. the untyped record, without `schema_version`;
2. the typed record: the same fields plus `schema_version`;
3. `predictions` (the run's predictions file and its digest), `reproducibility` (seed, numeric
   settings, hardware), and, for records that `fuse` writes, `fused_from` and `fusion`. Older
   records read with these fields None.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..plan.plan import Plan
from ..plan.schema import NAME_PATTERN
from .metrics_log import METRICS_FILE
from .provenance import Provenance
from .reproducibility import Reproducibility, current_settings
from .run_predictions import PredictionsEntry

SCHEMA_VERSION = 3
RESULT_FILE = "result.json"
CONFIG_FILE = "config.yaml"
FINISHED = "finished"
FAILED = "failed"
UNFINISHED = "unfinished"
"""Not written: the status the reader gives a run folder that holds no record yet."""
Status = Literal["finished", "failed", "unfinished"]
FileName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=200)]
"""A value the report turns into a file name (`curves/<id>.png`, `<dataset>_*.png`): a record
whose id or dataset holds a '/' or starts with '.' is not one of ours, and must never make the
report write outside its folder."""


class WeightsSource(BaseModel):
    """The file `eval --weights` evaluated."""

    path: str
    sha256: str
    key_convention: str


class FusedMember(BaseModel):
    """One run that a fused record combines."""

    id: str
    predictions_sha256: str
    weight: float
    """Normalised: the weights of a fusion sum to 1."""


class Fusion(BaseModel):
    space: str
    """'logits' or 'probabilities' (report/fusion.py)."""


FUSION_FAMILY = "fusion"


class RunRecord(BaseModel):
    """Everything about one run. Fields a version-1 record may lack default to None."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    id: FileName
    name: str | None = None
    source: str | None = None
    status: Status
    reason: str | None = None
    # what ran
    method: str | None = None
    family: str | None = None
    reconstructed: bool | None = None
    backbone: str | None = None
    dataset: FileName | None = None
    num_classes: int | None = None
    frames: int | None = None
    input_size: int | None = None
    clips: int | None = None
    crops: int | None = None
    views: int | None = None
    protocol: str | None = None
    """`Protocol.describe()`: the frame, crop, flip and view rules the run used."""
    eval_input_size: int | None = None
    eval_frames: int | None = None
    """Segments (dense: frames) of a test clip (eval.frames, default `frames`): GFLOPs per
    view are counted on them."""
    videos_scored: int | None = None
    videos_dropped: int | None = None
    """Evaluation videos left out by data.min_frames (the references' short-video filters)."""
    train_videos_dropped: int | None = None
    # what it scored
    top1: float | None = None
    top5: float | None = None
    mean_class_acc: float | None = None
    epochs: int | None = None
    wall_time_s: float | None = None
    device: str | None = None
    processes: int | None = None
    skipped_samples: int = 0
    skipped_files: list[str] = Field(default_factory=list)
    # what it costs (cost.measure_cost)
    gflops: float | None = None
    gflops_other: float | None = None
    flops_by_operator: dict[str, float] | None = None
    unsupported_ops: dict[str, int] | None = None
    flops_convention: str | None = None
    params_m: float | None = None
    latency_ms: float | None = None
    latency_iqr_ms: float | None = None
    throughput: float | None = None
    throughput_batch: int | None = None
    memory_mb: float | None = None
    cost_device: str | None = None
    cost_dtype: str | None = None
    cost_threads: int | None = None
    # where it comes from
    paper: dict[str, Any] | None = None
    weights: WeightsSource | None = None
    provenance: Provenance | None = None
    reproducibility: Reproducibility | None = None
    predictions: PredictionsEntry | None = None
    """The per-video scores the metrics come from, beside the record."""
    fused_from: list[FusedMember] | None = None
    fusion: Fusion | None = None

    @classmethod
    def create(cls, plan: Plan, *, status: Status, metrics: dict, cost: dict, device: str,
               provenance: Provenance, wall_time_s: float, epochs: int, processes: int = 1,
               reason: str | None = None, skips: dict[str, Any] | None = None,
               weights: WeightsSource | None = None,
               predictions: PredictionsEntry | None = None) -> RunRecord:
        """The record of a run of `plan`. `skips`: `FaultPolicy.summary()` of its data;
        `cost`: `measure_cost`'s fields; `predictions`: what its `PredictionsWriter` saved,
        named only when the run finished (a failed run's file is an earlier epoch's)."""
        spec = plan.spec
        return cls(
            id=plan.id, name=plan.name, source=plan.source, status=status, reason=reason,
            method=plan.method.name, family=plan.family, reconstructed=plan.method.reconstructed,
            backbone=plan.backbone, dataset=spec.data.dataset, num_classes=plan.num_classes,
            frames=spec.data.frames, input_size=spec.data.input_size, clips=spec.eval.clips,
            crops=spec.eval.crops, views=plan.views, protocol=plan.protocol.describe(),
            eval_input_size=plan.protocol.input_size, videos_scored=metrics.get("val_videos"),
            eval_frames=plan.protocol.test_frames,
            top1=metrics.get("top1"),
            top5=metrics.get("top5"), mean_class_acc=metrics.get("mean_class_acc"), epochs=epochs,
            wall_time_s=wall_time_s, device=device, processes=processes, **(skips or {}), **cost,
            paper=spec.paper.model_dump() if spec.paper else None, weights=weights,
            provenance=provenance, reproducibility=current_settings(spec.train.seed, device, spec.train.amp),
            predictions=predictions if status == FINISHED else None)

    @classmethod
    def fused(cls, name: str, id: str, members: list[RunRecord], weights: list[float], space: str,
              metrics: dict, predictions: PredictionsEntry, provenance: Provenance,
              wall_time_s: float) -> RunRecord:
        """The record of the late fusion of `members` (finished records with predictions, of
        one dataset) with normalised `weights`. A video costs every member's views, so GFLOPs
        per view is the members' total per video over their views; parameters count each
        distinct network once (evaluations of one weights file share theirs)."""
        views = sum(member.views for member in members)
        crops = _common(member.crops for member in members)
        video_gflops = [member.gflops * member.views for member in members if member.gflops is not None]
        networks = {(member.weights.sha256 if member.weights else member.id): member.params_m
                    for member in members}
        return cls(
            id=id, name=name, source="fuse " + " ".join(member.id for member in members), status=FINISHED,
            method="+".join(dict.fromkeys(member.method for member in members)), family=FUSION_FAMILY,
            reconstructed=any(member.reconstructed for member in members),
            backbone=_common(member.backbone for member in members),
            dataset=_common(member.dataset for member in members), num_classes=predictions.classes,
            frames=_common(member.frames for member in members),
            input_size=_common(member.input_size for member in members),
            clips=sum(member.clips for member in members) if crops else None, crops=crops, views=views,
            top1=metrics["top1"], top5=metrics["top5"], mean_class_acc=metrics["mean_class_acc"],
            wall_time_s=wall_time_s, device=", ".join(dict.fromkeys(member.device for member in members)),
            gflops=sum(video_gflops) / views if len(video_gflops) == len(members) else None,
            params_m=sum(networks.values()) if None not in networks.values() else None,
            flops_convention=_common(member.flops_convention for member in members),
            provenance=provenance, predictions=predictions,
            fused_from=[FusedMember(id=member.id, predictions_sha256=member.predictions.sha256, weight=weight)
                        for member, weight in zip(members, weights)],
            fusion=Fusion(space=space))

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


class DamagedRecord(Exception):
    """A file of a run folder that cannot be read as what it should be."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


def read_record(path: Path) -> RunRecord | None:
    """The record in `path`, of any version; None when there is none. A file that is not a
    record raises `DamagedRecord` naming what is wrong with it."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):  # NotADirectory: a file where a folder should be
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DamagedRecord(path, f"cannot be read as text ({type(exc).__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedRecord(path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise DamagedRecord(path, f"expected a JSON object, got a {type(data).__name__}")
    data.setdefault("schema_version", 1)
    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "record"
        raise DamagedRecord(path, f"field '{field}': {first['msg']}") from None


def unfinished_record(folder: Path, epochs_logged: int) -> RunRecord:
    """What the run folder's config says about a run that has no record yet, and how far it
    got (`epochs_logged` epochs in its metrics log)."""
    path = Path(folder) / CONFIG_FILE
    try:
        config = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DamagedRecord(path, f"not a readable run config ({type(exc).__name__})") from None
    if not isinstance(config, dict):
        raise DamagedRecord(path, f"expected a mapping, got a {type(config).__name__}")
    model, data, train, evaluate = (_section(config, key, path)
                                    for key in ("model", "data", "train", "eval"))
    planned = f" of {train['epochs']}" if "epochs" in train else ""
    clips, crops = evaluate.get("clips", 1), evaluate.get("crops", 1)
    try:
        return RunRecord(id=Path(folder).name, name=config.get("name", Path(folder).name),
                         status=UNFINISHED, method=model.get("method"),
                         backbone=model.get("backbone"), dataset=data.get("dataset"),
                         frames=data.get("frames"), clips=clips, crops=crops, views=clips * crops,
                         epochs=epochs_logged,
                         reason=f"no {RESULT_FILE} yet; {epochs_logged}{planned} epochs in {METRICS_FILE}")
    except (ValidationError, TypeError) as exc:
        raise DamagedRecord(path, f"not a run config ({str(exc).splitlines()[0]})") from None


def _common(values) -> Any:
    """The value all members share, else None."""
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


def _section(config: dict, key: str, path: Path) -> dict:
    section = config.get(key) or {}
    if not isinstance(section, dict):
        raise DamagedRecord(path, f"section '{key}' is not a mapping")
    return section
