"""Checkpoints carry a digest of their content: a file damaged on disk is refused in one line
instead of resuming a run from corrupted weights; checkpoints written before the digest still
load."""

from __future__ import annotations

import logging
import random

import pytest
import torch

from actionbench.core.atomic import torch_save
from actionbench.core.errors import UserError
from actionbench.engine.checkpoint import (
    DIGEST_KEY,
    DamagedCheckpoint,
    Progress,
    read_checkpoint,
    restore_checkpoint,
    save_checkpoint,
)


def training_objects():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 256)).sum().backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return model, optimizer, scheduler, torch.amp.GradScaler("cpu", enabled=False)


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, *training_objects(), Progress(epoch=3, iteration=2, metrics={"top1": 12.5},
                                                        epoch_stats=torch.tensor([1.0, 2.0, 3.0])))
    return path


def test_an_intact_checkpoint_loads_and_restores(checkpoint):
    state = read_checkpoint(checkpoint)
    assert DIGEST_KEY not in state
    progress = restore_checkpoint(checkpoint, state, *training_objects())
    assert (progress.epoch, progress.iteration, progress.metrics) == (3, 2, {"top1": 12.5})


@pytest.mark.parametrize("damage", ["zeroed", "random"])
def test_a_block_damaged_on_disk_is_refused_in_one_line(checkpoint, damage):
    data = bytearray(checkpoint.read_bytes())
    block = 64 * 1024  # inside the weights: about a tenth of the file
    start = len(data) // 2
    data[start:start + block] = bytes(block) if damage == "zeroed" else random.Random(0).randbytes(block)
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(UserError) as error:
        read_checkpoint(checkpoint)
    message = str(error.value)
    assert message.startswith(f"{checkpoint}: ") and "\n" not in message
    if isinstance(error.value, DamagedCheckpoint):
        assert "does not match the sha256" in message and "move it aside" in message
        assert "--force" in message


def test_zeroed_weights_are_caught_by_the_digest_not_by_torch(checkpoint):
    state = torch.load(checkpoint, weights_only=True)
    state["model"]["0.weight"][:8].zero_()  # what a zeroed disk block does to a tensor
    torch_save(checkpoint, state)
    with pytest.raises(DamagedCheckpoint, match="damaged: its content does not match the sha256"):
        read_checkpoint(checkpoint)


def test_a_checkpoint_without_a_digest_is_read_with_a_warning(checkpoint, caplog):
    state = torch.load(checkpoint, weights_only=True)
    del state[DIGEST_KEY]
    torch_save(checkpoint, state)
    with caplog.at_level(logging.WARNING):
        assert read_checkpoint(checkpoint)["epoch"] == 3
    assert "has no digest" in caplog.text
