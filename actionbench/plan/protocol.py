"""The protocol of a plan: how training clips are drawn and augmented, which videos are kept,
and how test views are placed and averaged.

Two runs of one network differ in their scores whenever any of these differ, so a published
row is reproduced only under its reference's protocol (docs/protocols.md, per reference and
per row). The settings are spread over `data:` and `eval:`; this module resolves their
defaults once, refuses combinations that cannot run, and names the result in one line for the
run listing and the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from .registry import Method
from .schema import CropRule, ExperimentSpec, TestRule, TrainCrop, TrainRule

SEGMENT_TEST_RULES: frozenset[str] = frozenset({"even", "tsm_twice", "ibm_offsets", "tsn_val"})
DENSE_TEST_RULES: frozenset[str] = frozenset({"even", "linspace"})


def default_scale_size(input_size: int) -> int:
    """The customary 256-for-224 resize ratio."""
    return round(input_size * 256 / 224)


def rule_problem(test_mode: str, train_rule: str, test_rule: str, clips: int,
                 frames_per_segment: int) -> tuple[str, str] | None:
    """(field, why) when this combination of frame rules cannot run, or None; `Plan` turns it
    into a UserError naming the field, `ClipSampler` refuses it as a programming error. Every
    training rule has a segment and a dense form; a test rule belongs to the test clips'
    sampling mode."""
    rules = SEGMENT_TEST_RULES if test_mode == "segment" else DENSE_TEST_RULES
    if test_rule not in rules:
        return "eval.test_rule", (f"'{test_rule}' does not apply to {test_mode} sampling; use one of "
                                  f"{', '.join(sorted(rules))}")
    if test_rule == "tsm_twice" and clips != 2:
        return "eval.test_rule", f"'tsm_twice' takes exactly 2 clips (centres, then starts), got {clips}"
    if test_rule == "tsn_val" and clips != 1:
        return "eval.test_rule", f"'tsn_val' takes exactly 1 clip, got {clips}"
    for field, rule in (("data.train_rule", train_rule), ("eval.test_rule", test_rule)):
        if frames_per_segment > 1 and rule in ("ibm", "ibm_offsets"):
            return field, (f"IBM's rules read one frame per segment, this method reads "
                           f"{frames_per_segment}")
    return None


@dataclass(frozen=True)
class Protocol:
    """The resolved settings (defaults filled in) that decide what the network sees."""

    sampling: str
    """segment, or dense with its stride (e.g. 'dense8')."""
    frames: int
    """Segments (dense: frames) of a training clip."""
    test_sampling: str
    """As `sampling`, for test clips (`eval.sampling`, default data.sampling)."""
    test_frames: int
    """Segments (dense: frames) of a test clip (`eval.frames`, default data.frames)."""
    train_rule: TrainRule
    train_crop: TrainCrop
    scale_range: tuple[int, int]
    flip: bool
    """Training mirrors clips (`data.flip` applied to the catalog's rule)."""
    label_swaps: bool
    """Mirrored clips take the label of `data.flip_label_map`."""
    min_frames: int
    test_rule: TestRule
    clips: int
    crops: int
    crop_rule: CropRule
    input_size: int
    """The test crop side."""
    scale_size: int
    """The test short side."""
    aggregate: str

    def describe(self) -> str:
        """One line, e.g. 'train tsm tsn_multiscale flip min3 | test tsm_twice 2x3 tsm 256/256
        logits'; the test clip's sampling and frames are named where they differ from
        training's ('train f5 tsm ... | test dense8 f8 linspace 10x3 ...')."""
        crop = self.train_crop + (f"{self.scale_range[0]}-{self.scale_range[1]}"
                                  if self.train_crop == "ibm_scale_jitter" else "")
        flip = ("flip+swap" if self.label_swaps else "flip") if self.flip else "noflip"
        train = ["train", self.train_rule, crop, flip]
        if self.min_frames > 1:
            train.append(f"min{self.min_frames}")
        test = ["test", self.test_rule, f"{self.clips}x{self.crops}", self.crop_rule,
                f"{self.input_size}/{self.scale_size}", self.aggregate]
        if self.test_frames != self.frames:
            train.insert(1, f"f{self.frames}")
            test.insert(1, f"f{self.test_frames}")
        if self.sampling != "segment":
            train.insert(1, self.sampling)
        if self.test_sampling != self.sampling:
            test.insert(1, self.test_sampling)
        return f"{' '.join(train)} | {' '.join(test)}"


def resolve_protocol(spec: ExperimentSpec, catalog_flip: bool) -> Protocol:
    """The protocol `spec` asks for; `catalog_flip` is the dataset's own flip rule."""
    data, evaluation = spec.data, spec.eval
    swaps = data.flip_label_map is not None
    flip = {"dataset": catalog_flip or swaps, "always": True, "never": False}[data.flip]
    input_size = evaluation.input_size or data.input_size
    return Protocol(
        sampling=_sampling(data.sampling, data.dense_stride), frames=data.frames,
        test_sampling=_sampling(test_mode(spec), data.dense_stride),
        test_frames=evaluation.frames or data.frames,
        train_rule=data.train_rule, train_crop=data.train_crop, scale_range=data.scale_range,
        flip=flip, label_swaps=swaps and flip, min_frames=data.min_frames,
        test_rule=evaluation.test_rule, clips=evaluation.clips, crops=evaluation.crops,
        crop_rule=evaluation.crop_rule, input_size=input_size,
        scale_size=evaluation.scale_size or data.scale_size or default_scale_size(input_size),
        aggregate=evaluation.aggregate)


def _sampling(mode: str, stride: int) -> str:
    return mode if mode == "segment" else f"dense{stride}"


def test_mode(spec: ExperimentSpec) -> str:
    """The sampling mode of test clips: `eval.sampling`, default data.sampling."""
    return spec.eval.sampling or spec.data.sampling


def protocol_problem(spec: ExperimentSpec, method: Method) -> tuple[str, str] | None:
    """(field, why) when the protocol of `spec` cannot run with `method`'s network, or None."""
    data, evaluation = spec.data, spec.eval
    protocol = resolve_protocol(spec, catalog_flip=False)
    test_frames = protocol.test_frames
    if test_frames != data.frames and not method.any_frames:
        return "eval.frames", (f"method '{method.name}' is built for the {data.frames} segments it "
                               f"trains on (data.frames) and cannot test {test_frames}; only "
                               f"networks that take any clip length can (e.g. tsn, i3d)")
    if protocol.input_size != data.input_size and not method.any_size:
        return "eval.input_size", (f"method '{method.name}' is built for the {data.input_size}x"
                                   f"{data.input_size} crop it trains on (data.input_size; its "
                                   f"position tables are sized for it) and cannot test "
                                   f"{protocol.input_size}x{protocol.input_size}; only networks "
                                   f"that take any size can (e.g. tsm, swin3d)")
    problem = rule_problem(test_mode(spec), data.train_rule, evaluation.test_rule, evaluation.clips,
                           method.frames_per_segment)
    if problem is not None:
        return problem
    if data.flip == "never" and data.flip_label_map is not None:
        return "data.flip", "'never' contradicts data.flip_label_map, which swaps the labels of flips"
    if protocol.scale_size < protocol.input_size:
        return "eval.scale_size", (f"the test short side ({protocol.scale_size}) is smaller than "
                                   f"the test crop ({protocol.input_size})")
    if data.train_crop == "ibm_scale_jitter" and data.scale_range[0] < data.input_size:
        return "data.scale_range", (f"the smallest short side ({data.scale_range[0]}) is smaller "
                                    f"than the training crop (data.input_size {data.input_size})")
    return None
