"""The engine at scale, on the CPU: two processes through torchrun (gloo) evaluate every video
once; interrupted runs resume to the same weights and metrics; samplers, the recipe options
(partial BN, classifier lr, warm-up, linear scaling) and the GPU-decode path. CUDA-only paths
are tested when a GPU is present."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import tiny_experiment
from pydantic import ValidationError
from torchvision.transforms import v2

from actionbench.config import load_plans
from actionbench.core.model_input import to_model_input
from actionbench.data.gpu_decode import EncodedFrameFolder, decode_clips, keep_encoded
from actionbench.data.loader import build_loaders
from actionbench.data.samplers import SeededSamples, ShardSampler, TrainSampler
from actionbench.data.transforms import apply
from actionbench.engine import checkpoint as checkpoint_module
from actionbench.engine import train as train_module
from actionbench.engine.checkpoint import Progress, read_checkpoint
from actionbench.engine.evaluate import evaluate
from actionbench.engine.recipe import apply_partial_bn, build_optimizer, effective_lr
from actionbench.engine.schedule import build_scheduler
from actionbench.engine.train import CHECKPOINT_FILE, fit
from actionbench.models import build_network
from actionbench.plan.schema import TrainSpec

REPO = Path(__file__).resolve().parent.parent
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: results are the same, and on a busy 2-core machine two OpenMP
    threads spin against the other processes and run these tests about ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load_plan(write_yaml, **overrides):
    (experiment,) = load_plans([write_yaml("exp.yaml", tiny_experiment(**overrides))])
    return experiment


# ---------------------------------------------------------------- several processes


def test_two_processes_write_one_record_and_count_every_video_once(write_yaml, synth_root, tmp_path):
    val_list = tmp_path / "val_odd.txt"  # 9 videos: a padding sampler would score one twice
    val_list.write_text("".join((synth_root / "val.txt").read_text().splitlines(keepends=True)[:9]))
    path = write_yaml("ddp.yaml", tiny_experiment(
        data__root=str(synth_root), data__val_list=str(val_list), train__batch_size=4,
        train__dropout=0.0, eval__batch_size=2))
    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(REPO / "benchmark.py"), "run", str(path), "--runs", str(runs), "--device", "cpu"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (record_path,) = runs.glob("*/result.json")
    record = json.loads(record_path.read_text())
    assert record["status"] == "finished" and record["processes"] == 2
    (epoch,) = [json.loads(line) for line in (record_path.parent / "metrics.jsonl").read_text().splitlines()]
    assert epoch["val_videos"] == 9
    # The same weights evaluated by one process give the same top-1: no video counted twice.
    (experiment,) = load_plans([path])
    model = build_network(experiment)
    model.load_state_dict(read_checkpoint(record_path.parent / CHECKPOINT_FILE)["model"])
    _, val_loader = build_loaders(experiment, train=False, device=torch.device("cpu"))
    assert evaluate(model, val_loader, torch.device("cpu"))["top1"] == pytest.approx(record["top1"])


def test_shard_sampler_covers_every_item_once():
    for size in (0, 1, 9, 10):
        shards = [list(ShardSampler(size, 4, rank)) for rank in range(4)]
        assert sum(shards, []) == list(range(size))


def test_train_sampler_shards_skips_and_seeds_by_sample():
    dataset = list(range(10))
    halves = [TrainSampler(dataset, 2, rank, seed=3) for rank in range(2)]
    for sampler in halves:
        sampler.set_epoch(1)
    order = [list(sampler) for sampler in halves]
    assert sorted(int(index) for index in order[0] + order[1]) == dataset
    halves[0].set_epoch(1, skip=2)
    assert list(halves[0]) == order[0][2:] and len(halves[0]) == 3
    assert [index.seed for index in halves[0]] == [index.seed for index in order[0][2:]]
    halves[0].set_epoch(2)
    assert [int(index) for index in halves[0]] != [int(index) for index in order[0]]


# ---------------------------------------------------------------- checkpoints and resume


class Killed(BaseException):
    """Stands for kill -9 right after a checkpoint was written."""


def train_to_the_end(plan, run_dir: Path, kill_after_save: int | None = None, monkeypatch=None):
    """fit() as a fresh process would run it (new model and loaders); with `kill_after_save`,
    the run dies right after writing that many checkpoints."""
    if kill_after_save is not None:
        saved = []
        real_save = checkpoint_module.save_checkpoint

        def save_then_die(*args, **kwargs):
            real_save(*args, **kwargs)
            saved.append(1)
            if len(saved) == kill_after_save:
                raise Killed

        monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
    device = torch.device("cpu")
    train_loader, val_loader = build_loaders(plan, device=device)
    model = build_network(plan)
    lines = []
    metrics = fit(model, train_loader, val_loader, plan, device, run_dir,
                  to_input=lambda videos: to_model_input(videos, device), on_epoch=lines.append)
    return model.state_dict(), metrics, lines


def test_a_run_killed_mid_epoch_resumes_to_the_weights_and_metrics_of_an_uninterrupted_one(
        write_yaml, synth_root, tmp_path, monkeypatch):
    # 20 clips, batch 4: 5 iterations per epoch; checkpoints at steps 3, 5 (epoch end), 6, 9, 10.
    plan = load_plan(write_yaml, data__root=str(synth_root), train__epochs=2, train__batch_size=4,
                     train__dropout=0.3, train__checkpoint_every=3)
    weights, metrics, lines = train_to_the_end(plan, tmp_path / "straight")
    assert [line["epoch"] for line in lines] == [1, 2]
    run_dir = tmp_path / "killed"
    with monkeypatch.context() as patch, pytest.raises(Killed):
        train_to_the_end(plan, run_dir, kill_after_save=3, monkeypatch=patch)  # at step 6
    state = read_checkpoint(run_dir / CHECKPOINT_FILE)  # weights_only=True
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "epoch_stats"} <= state.keys()
    assert (state["epoch"], state["iteration"], state["scheduler"]["last_epoch"]) == (1, 1, 6)
    assert set(state["rng"][0]) == {"torch", "cuda", "numpy", "python"}
    assert state["epoch_stats"][2] == 4  # clips seen in the unfinished epoch
    assert state["metrics"]["epoch"] == 1
    resumed_weights, resumed_metrics, resumed_lines = train_to_the_end(plan, run_dir)
    assert [line["epoch"] for line in resumed_lines] == [2]
    for name, tensor in weights.items():
        assert torch.equal(tensor, resumed_weights[name]), name
    for key in ("top1", "top5", "val_loss", "train_loss", "train_top1", "lr"):
        assert resumed_metrics[key] == metrics[key], key


def test_loader_workers_and_the_evaluation_interval_leave_the_weights_unchanged(
        write_yaml, synth_root, tmp_path):
    """Each sample's augmentation has its own seed and every epoch reseeds, so neither the worker
    processes nor an evaluation pass between epochs shift the training run's random streams."""
    base = dict(data__root=str(synth_root), train__epochs=2, train__batch_size=4, train__dropout=0.3)
    runs = [train_to_the_end(load_plan(write_yaml, data__workers=workers, eval__interval=interval, **base),
                             tmp_path / f"w{workers}i{interval}")
            for workers, interval in ((0, 2), (2, 1))]
    (weights, metrics, lines), (other_weights, other_metrics, other_lines) = runs
    assert ["top1" in line for line in lines] == [False, True]
    assert ["top1" in line for line in other_lines] == [True, True]
    for name, tensor in weights.items():
        assert torch.equal(tensor, other_weights[name]), name
    assert (metrics["top1"], metrics["train_loss"]) == (other_metrics["top1"], other_metrics["train_loss"])


def test_an_interrupted_checkpoint_write_leaves_the_previous_file_alone(tmp_path, monkeypatch):
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    path = tmp_path / CHECKPOINT_FILE
    checkpoint_module.save_checkpoint(path, model, optimizer, scheduler, scaler, Progress(epoch=1))
    before = path.read_bytes()

    def half_written(obj, handle):
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", half_written)
    with pytest.raises(KeyboardInterrupt):
        checkpoint_module.save_checkpoint(path, model, optimizer, scheduler, scaler, Progress(epoch=2))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_FILE]


# ---------------------------------------------------------------- recipe options


def test_partial_bn_freezes_every_batchnorm_but_the_first(write_yaml):
    plan = load_plan(write_yaml, train__partial_bn=True)
    model = build_network(plan).train()
    apply_partial_bn(model)
    first, *rest = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert first.training and first.weight.requires_grad and len(rest) > 10
    assert not any(layer.training or layer.weight.requires_grad or layer.bias.requires_grad
                   for layer in rest)
    before = [layer.running_mean.clone() for layer in (first, *rest)]
    model(torch.randn(2, 3, 4, 32, 32)).sum().backward()
    assert not torch.equal(first.running_mean, before[0])
    assert all(torch.equal(layer.running_mean, old) for layer, old in zip(rest, before[1:]))
    assert all(layer.weight.grad is None for layer in rest)
    optimized = {id(p) for group in build_optimizer(model, plan).param_groups for p in group["params"]}
    assert id(first.weight) in optimized and id(rest[0].weight) not in optimized


def test_classifier_gets_its_own_lr_multipliers(write_yaml):
    plan = load_plan(write_yaml, train__fc_lr_mult=[5, 10], train__lr=0.02)
    model = build_network(plan)
    fc = model.get_submodule(plan.method.classifier)
    assert fc is model.head.fc
    groups = {(group["lr"], group["weight_decay"]): group["params"]
              for group in build_optimizer(model, plan).param_groups}
    decay = plan.spec.train.weight_decay
    assert [id(p) for p in groups[(0.1, decay)]] == [id(fc.weight)]
    assert [id(p) for p in groups[(0.2, 0.0)]] == [id(fc.bias)]
    assert sum(len(params) for params in groups.values()) == len(list(model.parameters()))
    assert len(groups[(0.02, decay)]) > 10 and len(groups[(0.02, 0.0)]) > 10


def test_adamw_decays_weights_decoupled_and_keeps_the_groups(write_yaml):
    plan = load_plan(write_yaml, train__optimizer="adamw", train__lr=0.001, train__weight_decay=0.05)
    assert plan.id != load_plan(write_yaml).id == load_plan(write_yaml, train__optimizer="sgd").id
    model = build_network(plan)
    optimizer = build_optimizer(model, plan)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert sorted({group["weight_decay"] for group in optimizer.param_groups}) == [0.0, 0.05]
    fc = model.get_submodule(plan.method.classifier)
    weight, bias = fc.weight.detach().clone(), fc.bias.detach().clone()
    model(torch.randn(2, 3, 4, 32, 32)).logsumexp(dim=1).sum().backward()
    signs = fc.weight.grad.sign(), fc.bias.grad.sign()
    optimizer.step()
    # The first AdamW step moves each parameter by lr against its gradient's sign (m / sqrt(v)
    # = g / |g|), and shrinks weights by lr * weight_decay, whatever the gradient's size.
    torch.testing.assert_close(fc.weight.detach(), weight * (1 - 0.001 * 0.05) - 0.001 * signs[0],
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(fc.bias.detach(), bias - 0.001 * signs[1], atol=1e-6, rtol=0)


def test_warmup_ramps_the_schedule_linearly(write_yaml):
    plan = load_plan(write_yaml, train__epochs=4, train__warmup_epochs=1, train__schedule="step",
                     train__lr_steps=[2], train__fc_lr_mult=[5, 10])
    optimizer = build_optimizer(build_network(plan), plan)
    scheduler = build_scheduler(optimizer, plan.spec.train, iters_per_epoch=4)
    base, seen = [], []
    for _ in range(12):
        base.append(optimizer.param_groups[0]["lr"] / optimizer.param_groups[0]["lr_mult"])
        seen.append(sorted({group["lr"] / group["lr_mult"] for group in optimizer.param_groups}))
        optimizer.step()
        scheduler.step()
    assert base == pytest.approx([0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01, 0.01, 0.01,
                                  0.001, 0.001, 0.001, 0.001])
    for values in seen:  # every group follows the same factor
        assert values[-1] == pytest.approx(values[0])


def test_linear_lr_scaling_follows_the_global_batch():
    assert effective_lr(TrainSpec(lr=0.01, batch_size=128, lr_scaling="linear", base_batch_size=64)) \
        == pytest.approx(0.02)
    assert effective_lr(TrainSpec(lr=0.01, batch_size=128, base_batch_size=64)) == 0.01
    assert effective_lr(TrainSpec(lr=0.01, batch_size=16, lr_scaling="linear")) == 0.01


def test_amp_accepts_the_old_booleans():
    assert TrainSpec(amp=True).amp == "bf16" and TrainSpec(amp=False).amp == "none"
    assert TrainSpec(amp="fp16").amp == "fp16"
    with pytest.raises(ValidationError):
        TrainSpec(amp="fp32")


# ---------------------------------------------------------------- input path


def test_gpu_decode_path_gives_the_cpu_path_clips(write_yaml, synth_root):
    """The encoded-bytes dataset, collated and decoded in one batch, equals the CPU loader
    (decoded on the CPU here; on a GPU the decoder is nvJPEG)."""
    plan = load_plan(write_yaml, data__root=str(synth_root))
    loader, _ = build_loaders(plan, device=torch.device("cpu"))
    frames = loader.dataset.dataset.dataset  # GuardedLoader -> Guarded -> SeededSamples -> frames
    crop = v2.CenterCrop(24)
    plain = SeededSamples(type(frames)(frames.root, frames.records, frames.sampler,
                                       lambda clip: apply(crop, clip), train=True,
                                       template=frames.template))
    encoded = SeededSamples(EncodedFrameFolder(frames.root, frames.records, frames.sampler,
                                               keep_encoded, train=True, template=frames.template))
    loader.sampler.set_epoch(0)
    indices = list(loader.sampler)[:3]
    batch = torch.utils.data.default_collate([encoded[index] for index in indices])
    clips = decode_clips(batch[0], crop, torch.device("cpu"))
    expected = torch.stack([plain[index][0] for index in indices])
    assert clips.shape == (3, 4, 3, 24, 24) and torch.equal(clips, expected)
    assert batch[1].tolist() == [plain[index][1] for index in indices]


@cuda
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_cuda_step_with_mixed_precision_channels_last_and_fused_sgd(write_yaml, amp):
    plan = load_plan(write_yaml, train__amp=amp, train__channels_last=True)
    device = torch.device("cuda")
    model = build_network(plan).to(device)
    trained = train_module.prepare_model(model, plan.spec.train, device)
    assert model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, plan, device)
    assert optimizer.defaults["fused"]
    scaler = train_module.grad_scaler(device, amp)
    assert scaler.is_enabled() == (amp == "fp16")
    before = model.head.fc.weight.detach().clone()
    loss, logits = train_module.train_step(trained, torch.randn(2, 3, 4, 32, 32, device=device),
                                           torch.arange(2, device=device), optimizer, scaler, plan.spec.train,
                                           device)
    assert torch.isfinite(loss) and logits.shape == (2, 10)
    # A step either updates the weights or (fp16) finds an overflow and lowers the loss scale.
    assert not torch.equal(model.head.fc.weight, before) or scaler.get_scale() < 2.0**16


@cuda
def test_nvjpeg_decodes_like_the_cpu(synth_root):
    frame = next((synth_root / "frames").rglob("*.jpg")).read_bytes()
    crop = v2.CenterCrop(24)
    on_gpu = decode_clips([(frame,)], crop, torch.device("cuda")).cpu()
    on_cpu = decode_clips([(frame,)], crop, torch.device("cpu"))
    assert on_gpu.shape == on_cpu.shape
    assert (on_gpu.float() - on_cpu.float()).abs().mean() < 2  # decoders may round differently
