"""The typed experiment schema: every knob in one place, each with a one-line description.

The field descriptions are the documentation: `benchmark.py list fields` prints them and the
README's schema section is generated from the same source. Validation is pydantic's (strict
about unknown keys and types); checks against the registries live in `config.py`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ModelSpec(StrictModel):
    method: str = Field(description="temporal method, see `benchmark.py list methods`")
    backbone: str | None = Field(
        None, description="backbone, see `benchmark.py list methods`; default: the method's")
    pretrained: str = Field("none", description="none | imagenet | path to a local state dict")
    options: dict[str, Any] = Field(default_factory=dict,
                                    description="method-specific options, validated by the method")


class DataSpec(StrictModel):
    dataset: str = Field(description="dataset name, see `benchmark.py list datasets`")
    root: str | None = Field(None, description="dataset folder; default: the catalog's")
    train_list: str | None = Field(None, description="training list, relative to root")
    val_list: str | None = Field(None, description="evaluation list, relative to root")
    frames: PositiveInt = Field(8, description="frames per clip (segments for TSN sampling)")
    sampling: Literal["segment", "dense"] = Field(
        "segment", description="segment: one frame per equal segment (TSN); dense: frames "
                               "dense_stride apart in one window (I3D, non-local, TSM Kinetics)")
    dense_stride: PositiveInt = Field(8, description="frame interval of dense sampling")
    input_size: PositiveInt = Field(224, description="square crop fed to the network")
    scale_size: PositiveInt | None = Field(
        None, description="short side before cropping; default input_size * 256 / 224")
    workers: int = Field(2, ge=0, description="DataLoader worker processes")


class TrainSpec(StrictModel):
    epochs: PositiveInt = Field(50, description="training epochs")
    batch_size: PositiveInt = Field(64, description="clips per optimisation step")
    lr: PositiveFloat = Field(0.01, description="base learning rate (SGD)")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum")
    weight_decay: float = Field(5e-4, ge=0, description="L2 weight decay")
    schedule: Literal["step", "cosine"] = Field("step", description="learning-rate schedule")
    lr_steps: list[PositiveInt] = Field(default_factory=lambda: [30, 40, 45],
                                        description="epochs at which a step schedule decays")
    lr_gamma: float = Field(0.1, gt=0, le=1, description="decay factor of the step schedule")
    clip_grad: PositiveFloat | None = Field(20.0, description="max gradient norm; null: off")
    dropout: float = Field(0.5, ge=0, lt=1, description="dropout before the classifier")
    amp: bool = Field(True, description="bf16 autocast on CUDA (ignored on the CPU)")
    seed: int = Field(0, description="seed for weights, sampling and augmentation")


class EvalSpec(StrictModel):
    clips: PositiveInt = Field(1, description="temporal clips per video at test time")
    crops: Literal[1, 3, 10] = Field(1, description="spatial crops per clip at test time")
    batch_size: PositiveInt = Field(16, description="videos per evaluation batch")


class CostSpec(StrictModel):
    warmup: PositiveInt = Field(3, description="untimed forward passes before timing")
    repeats: PositiveInt = Field(20, description="timed forward passes (median reported)")
    throughput_batch: PositiveInt = Field(8, description="batch size of the throughput run")


class PaperSpec(StrictModel):
    top1: float | None = Field(None, description="published top-1 (%)")
    top5: float | None = Field(None, description="published top-5 (%)")
    gflops: float | None = Field(None, description="published GFLOPs per view")
    params_m: float | None = Field(None, description="published parameters (millions)")
    views: str | None = Field(None, description="published test views, e.g. '2x3'")
    source: str = Field(description="paper and table, or repository and file")


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"


class ExperimentSpec(StrictModel):
    name: str = Field(pattern=NAME_PATTERN, max_length=120,
                      description="readable name; letters, digits, '.', '_', '+', '-'")
    description: str = Field("", description="free text shown in listings")
    model: ModelSpec
    data: DataSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    eval: EvalSpec = Field(default_factory=EvalSpec)
    cost: CostSpec = Field(default_factory=CostSpec)
    paper: PaperSpec | None = Field(None, description="published numbers for comparison")

    @property
    def views(self) -> int:
        return self.eval.clips * self.eval.crops


def section_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The schema class of section `name` of `model` (e.g. TrainSpec for 'train'), or None
    when the field holds a plain value."""
    annotation = model.model_fields[name].annotation
    for candidate in getattr(annotation, "__args__", (annotation,)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None
