"""The typed experiment schema: every knob in one place, each with a one-line description.

The field descriptions are the documentation: `benchmark.py list fields` prints them and the
README's schema section is generated from the same source. Validation is pydantic's (strict
about unknown keys and types); checks against the registries, and everything derived from a
spec, are `config.resolve`'s.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationInfo, field_validator

TrainRule = Literal["tile", "tsm", "ibm"]
TestRule = Literal["even", "tsm_twice", "ibm_offsets", "tsn_val", "linspace"]
TrainCrop = Literal["random_resized", "tsn_multiscale", "ibm_scale_jitter"]
CropRule = Literal["edges", "tsm", "ibm"]
"""The frame and crop rules a protocol chooses from (docs/protocols.md: what each reference
does, with its file); data/sampling.py, crops.py and transforms.py implement them."""
ParamPolicy = Literal["uniform", "ibm", "tsn", "tsn_fc5"]
"""How SGD treats each parameter, as each reference's training script groups them
(docs/protocols.md#91-optimizer-parameter-groups); engine/recipe.py implements them."""
TSN_POLICIES: frozenset[str] = frozenset({"tsn", "tsn_fc5"})
"""The policies that set every linear layer's lr themselves (so `fc_lr_mult` stays [1, 1])."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


ADDED_LATER = {"id_when_set": True}
"""`json_schema_extra` of a field added after run ids were first issued: at its default it
computes what runs did before it existed, so it enters the run id only when set to something
else (`plan.spec_id`), and older run folders keep their ids."""


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
    layout: Literal["frames", "videos"] | None = Field(
        None, description="frames: JPEG frame folders; videos: video files decoded on the fly; "
                          "default: what the lists name (video files by their suffix)")
    template: str | None = Field(None, description="frame file names, e.g. '{:05d}.jpg'; "
                                                   "default: the catalog's")
    flip_label_map: str | None = Field(
        None, description="file of 'label <-> label' pairs (numbers or names from classes.txt), "
                          "relative to the experiment file that sets it: training flips clips and "
                          "swaps these labels, also on datasets that are otherwise never flipped")
    frames: PositiveInt = Field(8, description="frames per clip (segments for TSN sampling)")
    sampling: Literal["segment", "dense"] = Field(
        "segment", description="segment: one frame per equal segment (TSN); dense: frames "
                               "dense_stride apart in one window (I3D, non-local, TSM Kinetics)")
    dense_stride: PositiveInt = Field(8, description="frame interval of dense sampling")
    input_size: PositiveInt = Field(224, description="square crop fed to the network")
    scale_size: PositiveInt | None = Field(
        None, description="short side before cropping; default input_size * 256 / 224")
    train_rule: TrainRule = Field(
        "tile", json_schema_extra=ADDED_LATER,
        description="training frames: tile (segments that tile the video, one draw each), tsm "
                    "(TSM's and GST's integer segments; dense: TSM's 64-frame window), ibm (IBM's "
                    "one offset shared by all segments; dense: as tsm)")
    train_crop: TrainCrop = Field(
        "random_resized", json_schema_extra=ADDED_LATER,
        description="training crop: random_resized (40-100 % of the area), tsn_multiscale "
                    "(TSN's multi-scale crop of TSM, GST and IBM's v1 augmentor), ibm_scale_jitter "
                    "(IBM's v2: short side drawn from scale_range, random crop)")
    scale_range: tuple[PositiveInt, PositiveInt] = Field(
        (256, 320), json_schema_extra=ADDED_LATER,
        description="short-side range of ibm_scale_jitter, both ends included")
    flip: Literal["dataset", "always", "never"] = Field(
        "dataset", json_schema_extra=ADDED_LATER,
        description="training flips: dataset (the catalog's rule: not for left/right-dependent "
                    "labels, unless flip_label_map is set), always (IBM flips every dataset), never")
    min_frames: PositiveInt = Field(
        1, json_schema_extra=ADDED_LATER,
        description="leave videos with fewer frames out of both lists (TSM and GST: 3; IBM: 3 "
                    "Something, 30 Kinetics); the record counts the videos dropped")
    workers: int = Field(2, ge=0, description="DataLoader worker processes")
    prefetch_factor: PositiveInt = Field(2, description="batches each worker loads ahead "
                                                        "(with workers > 0)")
    persistent_workers: bool = Field(True, description="keep the workers between epochs "
                                                       "(with workers > 0)")
    pin_memory: bool = Field(True, description="page-locked batches for faster host-to-GPU "
                                               "copies (CUDA only)")
    gpu_decode: bool = Field(False, description="decode training JPEGs on the GPU (nvJPEG); "
                                                "the workers only read files (CUDA only)")
    on_error: Literal["fail", "skip"] = Field(
        "fail", description="a missing or corrupt frame or video: fail (stop, naming the file) or "
                            "skip the sample, count it and go on (the record lists the skips)")

    @field_validator("scale_range")
    @classmethod
    def _ordered_range(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] > value[1]:
            raise ValueError(f"expected [low, high] with low <= high, got {list(value)}")
        return value


class TrainSpec(StrictModel):
    epochs: PositiveInt = Field(50, description="training epochs")
    batch_size: PositiveInt = Field(64, description="clips per optimisation step, over all "
                                                  "processes (split between them)")
    optimizer: Literal["sgd", "adamw"] = Field(
        "sgd", json_schema_extra=ADDED_LATER,
        description="sgd: SGD with momentum, the references' optimizer; adamw: AdamW (Loshchilov "
                    "& Hutter), the transformers' recipes' and the 3D smoke rows'")
    lr: PositiveFloat = Field(0.01, description="base learning rate")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum (sgd only)")
    weight_decay: float = Field(5e-4, ge=0, description="weight decay, L2 for sgd and decoupled "
                                                        "for adamw, on the parameters "
                                                        "train.param_policy decays")
    schedule: Literal["step", "cosine"] = Field("step", description="learning-rate schedule")
    lr_steps: list[PositiveInt] = Field(default_factory=lambda: [30, 40, 45],
                                        description="epochs at which a step schedule decays")
    lr_gamma: float = Field(0.1, gt=0, le=1, description="decay factor of the step schedule")
    clip_grad: PositiveFloat | None = Field(20.0, description="max gradient norm; null: off")
    dropout: float = Field(0.5, ge=0, lt=1, description="dropout before the classifier")
    amp: Literal["none", "bf16", "fp16"] = Field(
        "bf16", description="mixed precision on CUDA: bf16 autocast, fp16 autocast with a "
                            "gradient scaler, or none (ignored on the CPU; true/false mean bf16/none)")
    channels_last: bool = Field(True, description="channels-last memory format on CUDA (tensor "
                                                  "cores); ignored on the CPU")
    compile: bool = Field(False, description="torch.compile the network (slower start, faster steps)")
    sync_bn: bool = Field(False, description="synchronise BatchNorm statistics across processes "
                                             "(CUDA, several processes)")
    partial_bn: bool = Field(False, description="TSN's partial BN: freeze the statistics and affine "
                                                "parameters of every BatchNorm but the first")
    param_policy: ParamPolicy = Field(
        "uniform", json_schema_extra=ADDED_LATER,
        description="SGD groups: uniform (fc_lr_mult on the classifier; biases, norms undecayed), "
                    "ibm (all alike, all decayed), tsn (GST: biases x2 lr; biases, BatchNorm "
                    "undecayed), tsn_fc5 (TSM, PAN, MIE-Net: tsn, linear layers x5, their biases x10)")
    fc_lr_mult: tuple[PositiveFloat, PositiveFloat] = Field(
        (1.0, 1.0), description="lr multipliers of the classifier's weight and bias; [5, 10] is "
                                "TSN/TSM's recipe for a new classifier on a pretrained backbone "
                                "(param_policy tsn_fc5 sets it: keep [1, 1] there and under tsn)")
    warmup_epochs: float = Field(0, ge=0, description="linear lr warm-up over the first epochs "
                                                      "(fractional allowed), times the schedule")
    lr_scaling: Literal["none", "linear"] = Field(
        "none", description="linear: lr * batch_size / base_batch_size (Goyal et al.)")
    base_batch_size: PositiveInt | None = Field(
        None, description="the batch the lr was tuned for (lr_scaling: linear); default: batch_size")
    checkpoint_every: int = Field(0, ge=0, description="also checkpoint every N iterations "
                                                       "(0: at epoch ends only)")
    seed: int = Field(0, description="seed for weights, sampling and augmentation")

    @field_validator("fc_lr_mult")
    @classmethod
    def _policy_sets_linear_rates(cls, value: tuple[float, float], info: ValidationInfo
                                  ) -> tuple[float, float]:
        """Under the TSN policies the policy gives every linear layer its lr (the classifier is
        one of them), so a second multiplier would be ambiguous."""
        policy = info.data.get("param_policy")
        if policy in TSN_POLICIES and tuple(value) != (1.0, 1.0):
            raise ValueError(f"param_policy '{policy}' sets the lr of every linear layer, the "
                             f"classifier's included (tsn: x1 weight, x2 bias; tsn_fc5: x5, x10); "
                             f"expected [1, 1]")
        return value

    @field_validator("amp", mode="before")
    @classmethod
    def _amp_from_bool(cls, value: Any) -> Any:
        """Older files say `amp: true/false`."""
        return {True: "bf16", False: "none"}.get(value, value) if isinstance(value, bool) else value


class EvalSpec(StrictModel):
    clips: PositiveInt = Field(1, description="temporal clips per video at test time")
    frames: PositiveInt | None = Field(
        None, json_schema_extra=ADDED_LATER,
        description="test segments (dense: frames) per clip; default data.frames (TSM's TSN "
                    "Kinetics baseline trains 5, tests 8); only for methods that take any clip "
                    "length")
    sampling: Literal["segment", "dense"] | None = Field(
        None, json_schema_extra=ADDED_LATER,
        description="test sampling; default data.sampling (TSM's tsn_r50_f8_dense: segment "
                    "training, dense testing with data.dense_stride)")
    crops: Literal[1, 3, 5, 10] = Field(1, description="spatial crops per clip at test time")
    test_rule: TestRule = Field(
        "even", json_schema_extra=ADDED_LATER,
        description="test frames: even (clip k at (k + 1/2) / clips of each segment; dense: "
                    "evenly spaced windows), tsm_twice (TSM's --twice_sample, 2 clips), ibm_offsets "
                    "(IBM's --num_clips), tsn_val (the validation clip of TSM's and GST's main.py, "
                    "1 clip), linspace (dense: TSM's and IBM's window starts)")
    crop_rule: CropRule = Field(
        "edges", json_schema_extra=ADDED_LATER,
        description="where 3, 5 or 10 test crops sit: edges (the frame's edges, torchvision's "
                    "ten_crop), tsm or ibm (quarter steps, as each reference places them)")
    input_size: PositiveInt | None = Field(
        None, json_schema_extra=ADDED_LATER,
        description="test crop side; default data.input_size (TSM's full-resolution test: 256); "
                    "only for methods that take any size")
    scale_size: PositiveInt | None = Field(
        None, json_schema_extra=ADDED_LATER,
        description="test short side; default data.scale_size, else the test crop * 256 / 224")
    batch_size: PositiveInt = Field(16, description="videos per evaluation batch (per process)")
    interval: PositiveInt = Field(1, description="evaluate every N training epochs (the last "
                                  "one always); a larger N saves time, the curves get fewer points")
    aggregate: Literal["softmax", "logits"] = Field(
        "softmax", json_schema_extra=ADDED_LATER,
        description="how a video's views are averaged: the mean of their softmax, or the mean of "
                    "their logits (TSM's test_models.py, IBM's test.py), softmax after the mean")


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


class LauncherSpec(StrictModel):
    """Where `run --launcher slurm|local` sends the experiment (README, "Training at scale").
    Where a run goes does not change what it computes, so the section is left out of every
    dump of the spec (`exclude=True` below): not in the run id, not in `config.yaml`. The
    command line's options win over it."""

    partition: str | None = Field(None, description="Slurm partition; default: the cluster's")
    account: str | None = Field(None, description="Slurm account charged for the jobs")
    qos: str | None = Field(None, description="Slurm quality of service")
    time_limit: PositiveInt = Field(
        1440, description="minutes per job (or 'HH:MM:SS', 'D-HH:MM:SS'); a job that reaches it is "
                          "requeued and resumes from its checkpoint")
    nodes: PositiveInt = Field(1, description="nodes per experiment")
    gpus_per_node: int = Field(1, ge=0, description="GPUs per node, one process each (0: one CPU "
                                                    "process per node)")
    cpus_per_gpu: PositiveInt | None = Field(None, description="CPU cores per GPU (per process); "
                                                               "set data.workers to about this")
    mem_per_gpu_gb: PositiveFloat | None = Field(None, description="memory per GPU in GB")
    constraint: str | None = Field(None, description="Slurm node features, e.g. 'a100'")
    sbatch_args: list[str] = Field(default_factory=list,
                                   description="further sbatch options, e.g. ['--exclusive']")
    signal_delay_s: PositiveInt = Field(
        120, description="seconds before the time limit at which the job is warned (SIGUSR1) to "
                         "checkpoint and requeue: more than an iteration and a checkpoint write")
    max_timeouts: int = Field(10, ge=0, description="requeues after reaching the time limit before "
                                                    "the job gives up (preemptions do not count)")

    @field_validator("time_limit", mode="before")
    @classmethod
    def _minutes(cls, value: Any) -> Any:
        return slurm_minutes(value) if isinstance(value, str) and not value.strip().isdigit() else value


def slurm_minutes(text: str) -> int:
    """Minutes (rounded up) of a time in sbatch's --time formats: M, M:S or H:M:S, and D-H,
    D-H:M or D-H:M:S with days."""
    days, dash, clock = text.strip().partition("-") if "-" in text else ("0", "", text.strip())
    parts = clock.split(":")
    if not days.isdigit() or len(parts) > 3 or not all(part.isdigit() for part in parts):
        raise ValueError(f"'{text}' is not a Slurm time (minutes, 'HH:MM:SS' or 'D-HH:MM:SS')")
    numbers = [int(part) for part in parts]
    if dash:
        hours, minutes, seconds = (numbers + [0, 0])[:3]
    else:
        hours, minutes, seconds = numbers if len(numbers) == 3 else [0, *numbers, 0][:3]
    return int(days) * 1440 + hours * 60 + minutes + (1 if seconds else 0)


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
    launcher: LauncherSpec = Field(default_factory=LauncherSpec, exclude=True)


def section_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The schema class of section `name` of `model` (e.g. TrainSpec for 'train'), or None
    when the field holds a plain value."""
    annotation = model.model_fields[name].annotation
    for candidate in getattr(annotation, "__args__", (annotation,)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None
