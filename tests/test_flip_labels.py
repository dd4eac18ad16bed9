"""Horizontal flips with label swaps (`data.flip_label_map`), for direction-sensitive datasets."""

from __future__ import annotations

import pytest
import torch
import yaml
from conftest import tiny_experiment

from actionbench.config import ConfigError, load_plans, resolve
from actionbench.core.errors import UserError
from actionbench.data.loader import build_loaders
from actionbench.data.transforms import FlipWithLabelSwap, read_flip_label_map

NAMES = ["Pushing something from left to right", "Pushing something from right to left",
         "Holding something", "Turning the camera left while filming something",
         "Turning the camera right while filming something"]


def test_map_reads_names_and_numbers_both_ways(tmp_path):
    path = tmp_path / "flip.txt"
    path.write_text("# SSv2-style pairs\n"
                    "Pushing something from left to right <-> Pushing something from right to left\n"
                    "\n3 <-> 4   # camera left/right\n")
    assert read_flip_label_map(path, 5, NAMES) == {0: 1, 1: 0, 3: 4, 4: 3}


@pytest.mark.parametrize("text, message", [
    ("0 -> 1", r"flip.txt:1: expected 'label <-> label', got '0 -> 1'"),
    ("0 <-> 1\n1 <-> 2", r"flip.txt:2: label 1 is already in a pair"),
    ("0 <-> 5", r"flip.txt:1: label must be 0..4, got 5"),
    ("Pushing left <-> 1", r"flip.txt:1: 'Pushing left' is not a label number and not in classes.txt"),
])
def test_bad_maps_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "flip.txt"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        read_flip_label_map(path, 5, NAMES)


class Clips(torch.utils.data.Dataset):
    """Clips whose left half is bright, with the label given by the index."""

    records = []

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index):
        clip = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
        clip[..., :2] = 255
        return clip, index


def test_a_flipped_clip_gets_the_swapped_label_and_an_unflipped_one_keeps_its_own():
    dataset = FlipWithLabelSwap(Clips(), {0: 1, 1: 0})
    torch.manual_seed(0)
    seen = set()
    for _ in range(40):
        for index in range(3):
            clip, label = dataset[index]
            flipped = bool(clip[..., 3].all())
            assert flipped != bool(clip[..., 0].all())
            assert label == ({0: 1, 1: 0}.get(index, index) if flipped else index)
            seen.add(flipped)
    assert seen == {True, False}


def test_the_loader_wraps_the_training_set_when_a_map_is_given(synth_root, tmp_path):
    path = tmp_path / "flip.txt"
    path.write_text("move_left <-> move_right\n")  # names from the synthmotion classes.txt
    plan = resolve(tiny_experiment(data__root=str(synth_root),
                                                         data__flip_label_map=str(path)), "test")
    train_loader, _ = build_loaders(plan)
    wrapped = train_loader.dataset
    while not isinstance(wrapped, FlipWithLabelSwap):  # under the loader's own wrappers
        wrapped = wrapped.dataset
    assert wrapped.pairs == {0: 1, 1: 0}
    clips, labels = next(iter(train_loader))
    assert clips.shape[1:] == (4, 3, 32, 32)


def write_recipe(folder, map_name="pairs.txt"):
    """A base recipe declaring a label-swap file beside it, and a row in another folder."""
    (folder / "_base").mkdir(parents=True)
    (folder / "_base" / "pairs.txt").write_text("0 <-> 1\n")
    base = tiny_experiment(data__flip_label_map=map_name)
    del base["name"]
    (folder / "_base" / "recipe.yaml").write_text(yaml.safe_dump(base))
    (folder / "rows").mkdir()
    row = folder / "rows" / "row.yaml"
    row.write_text(yaml.safe_dump({"base": "../_base/recipe.yaml", "name": "row"}))
    return row


def test_a_relative_map_is_the_file_beside_the_recipe_that_names_it(tmp_path):
    plans = [load_plans([write_recipe(tmp_path / checkout)])[0] for checkout in ("a", "b")]
    assert plans[0].spec.data.flip_label_map == "../_base/pairs.txt"  # relative to the row
    assert plans[0].data.flip_label_map.resolve() == (tmp_path / "a" / "_base" / "pairs.txt")
    assert read_flip_label_map(plans[0].data.flip_label_map, 10) == {0: 1, 1: 0}
    assert plans[0].id == plans[1].id  # wherever the checkout lies


def test_a_missing_relative_map_names_the_recipe_and_the_field(tmp_path):
    row = write_recipe(tmp_path, map_name="gone.txt")
    with pytest.raises(ConfigError) as error:
        load_plans([row])
    message = str(error.value)
    assert str(tmp_path / "_base" / "recipe.yaml") in message and "data.flip_label_map" in message
    assert "'gone.txt' not found" in message
