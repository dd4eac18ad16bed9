"""The resolved plan of one experiment: what `config` makes of one matrix cell, and the one
object every later layer receives.

The validated spec says what the user wrote (with defaults filled in); the plan adds every
fact derived from it, once: the run id, the method's registry entry and its typed options,
the class count, the frames the network takes, and where the data lives. The data, model,
engine and cost layers read these fields and look nothing up again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from ..core.errors import UserError
from .protocol import Protocol, protocol_problem, resolve_protocol
from .registry import BuildContext, Family, Method
from .schema import ExperimentSpec

FIELDS_OUTSIDE_ID = {
    "description": True, "paper": True,
    "data": {"workers", "prefetch_factor", "persistent_workers", "pin_memory", "on_error"},
    "train": {"checkpoint_every"}, "eval": {"interval"},
}
"""Fields that do not change what a run computes (each clip's augmentation has its own seed,
whatever the workers), so editing them keeps the run's id: a run stopped by a corrupt frame
resumes in the same folder once `data.on_error: skip` is set."""


def spec_id(spec: ExperimentSpec) -> str:
    """Readable name plus a short hash of everything that changes the result."""
    content = _without_later_defaults(spec, spec.model_dump(mode="json", exclude=FIELDS_OUTSIDE_ID))
    digest = hashlib.sha1(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8]
    return f"{spec.name}-{digest}"


def _without_later_defaults(model: BaseModel, content: dict) -> dict:
    """`content` (a dump of `model`) without the fields added later that keep their default
    (schema.ADDED_LATER), section by section."""
    for name, field in type(model).model_fields.items():
        if name not in content:
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel) and isinstance(content[name], dict):
            _without_later_defaults(value, content[name])
        elif (field.json_schema_extra or {}).get("id_when_set") and \
                value == field.get_default(call_default_factory=True):
            del content[name]
    return content


@dataclass(frozen=True)
class DataPlan:
    """Where an experiment's videos are and how they are stored, from `data:` and the dataset
    catalog."""

    root: Path
    train_list: Path
    val_list: Path
    template: str
    """File names of one frame inside a frame folder (1-based index)."""
    flip: bool
    """Whether training may mirror clips: False for datasets whose labels depend on left and
    right, unless `data.flip_label_map` says which labels swap."""
    synthetic: bool
    """The dataset is generated on first use (synthmotion)."""
    flip_label_map: Path | None = None
    """The label-swap file of `data.flip_label_map`, resolved against the experiment file."""


@dataclass(frozen=True)
class Plan:
    spec: ExperimentSpec
    """The validated spec, backbone and method options resolved to their defaults: what
    `config.yaml` holds and what the id hashes."""
    source: str
    """The file it came from (with the --set overrides, for messages)."""
    id: str
    """`<name>-<hash>`: the same spec always gives the same id, hence the same run folder."""
    method: Method
    options: BaseModel
    """`model.options` validated by the method's options model."""
    num_classes: int
    data: DataPlan

    def __post_init__(self) -> None:
        """A plan whose protocol cannot run is never made (the method decides how many frames
        a segment reads and whether it takes another test length, so the schema alone cannot
        tell)."""
        problem = protocol_problem(self.spec, self.method)
        if problem is not None:
            raise UserError(f"{self.source}: field '{problem[0]}': {problem[1]}")

    @property
    def protocol(self) -> Protocol:
        return resolve_protocol(self.spec, self.data.flip)

    @property
    def input_frames(self) -> int:
        """Frames in one test view of the network's input, on which cost is measured: the test
        segments (eval.frames, default data.frames) x the method's frames per segment (PAN and
        MIE-Net read 4 consecutive frames per segment)."""
        return self.protocol.test_frames * self.method.frames_per_segment

    @property
    def input_size(self) -> int:
        """Side of one test view, on which cost is measured: the test crop (eval.input_size,
        default data.input_size). TSM's and IBM's full-resolution rows train on 224 crops and
        score 256 ones, so their GFLOPs per view are those of a 256 x 256 view. The network is
        built for data.input_size (`build_context`), which networks with position tables need
        (`protocol_problem` refuses another test crop for them)."""
        return self.protocol.input_size

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def family(self) -> Family:
        return self.method.family

    @property
    def backbone(self) -> str:
        return self.spec.model.backbone

    @property
    def views(self) -> int:
        return self.spec.eval.clips * self.spec.eval.crops

    @property
    def build_context(self) -> BuildContext:
        return BuildContext(backbone=self.backbone, num_classes=self.num_classes,
                            frames=self.spec.data.frames, dropout=self.spec.train.dropout,
                            options=self.options, input_size=self.spec.data.input_size)

    def renamed(self, name: str) -> Plan:
        """The same plan under another name, hence another id and run folder."""
        spec = self.spec.model_copy(update={"name": name})
        return dataclasses.replace(self, spec=spec, id=spec_id(spec))
