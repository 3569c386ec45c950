"""Slimmed checkpoints: weights_only-loadable, float16, class names kept, nothing else."""

import os

import pytest
import torch

from adcert.models.loading import file_sha256
from adcert.models.publish import slim_checkpoint


class _Config:  # a pickled object, as mmengine puts its Config into checkpoints
    pass


def test_slim_checkpoint_keeps_weights_and_classes(tmp_path):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    source, target = tmp_path / "train.pth", tmp_path / "demo.pth"
    torch.save({"state_dict": model.state_dict(), "optimizer": {"lr": 1.0},
                "meta": {"cfg": _Config(), "dataset_meta": {"classes": ("car", "person")}}},
               source)
    with pytest.raises(ValueError, match="--unsafe-load"):
        slim_checkpoint(str(source), str(target))
    size, sha256 = slim_checkpoint(str(source), str(target), unsafe_load=True)
    assert size == os.path.getsize(target) and sha256 == file_sha256(str(target))
    slim = torch.load(target, weights_only=True)
    assert set(slim) == {"state_dict", "meta"}
    assert slim["meta"] == {"dataset_meta": {"classes": ["car", "person"]}}
    weight = slim["state_dict"]["0.weight"]
    assert weight.dtype == torch.float16
    assert slim["state_dict"]["1.num_batches_tracked"].dtype == torch.int64
    restored = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    restored.load_state_dict(slim["state_dict"])
    assert torch.allclose(restored[0].weight, model[0].weight, atol=1e-3)
    assert not os.path.exists(str(target) + ".partial")


def test_source_without_tensors_is_refused(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "empty.pth")
    with pytest.raises(ValueError, match="no state_dict"):
        slim_checkpoint(str(tmp_path / "empty.pth"), str(tmp_path / "out.pth"))


def test_slim_checkpoint_keeps_the_training_recipe(tmp_path):
    model = torch.nn.Conv2d(3, 4, 3)
    recipe = {"recipe": "consistency", "sigma": 0.25, "copies": 2,
              "consistency": {"weight": 5.0, "entropy": 0.5}}
    torch.save({"state_dict": model.state_dict(),
                "meta": {"dataset_meta": {"classes": ["a"]}, "adcert_training": recipe}},
               tmp_path / "train.pth")
    slim_checkpoint(str(tmp_path / "train.pth"), str(tmp_path / "demo.pth"))
    slim = torch.load(tmp_path / "demo.pth", weights_only=True)
    assert slim["meta"]["adcert_training"] == recipe
