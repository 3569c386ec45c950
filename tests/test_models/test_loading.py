from fractions import Fraction

import pytest
import torch

from adcert.models.loading import file_sha256, load_model, read_checkpoint

from .conftest import DETECTORS, framework_config


def test_loads_safely_and_records_the_checkpoint_hash(detector_checkpoints):
    cfg, checkpoint = detector_checkpoints["retinanet"]
    loaded = load_model(cfg, checkpoint, "mmdet", device="cpu")
    assert loaded.checkpoint_sha256 == file_sha256(checkpoint)
    assert len(loaded.checkpoint_sha256) == 64
    assert not loaded.model.training
    assert loaded.dataset_meta == {"classes": ["a"]}


def test_pickled_objects_need_the_unsafe_flag(tmp_path, detector_checkpoints):
    cfg, checkpoint = detector_checkpoints["retinanet"]
    state = torch.load(checkpoint, weights_only=True)
    state["meta"]["history"] = Fraction(1, 3)  # not on torch's allow-list
    unsafe = tmp_path / "unsafe.pth"
    torch.save(state, unsafe)
    with pytest.raises(ValueError, match="--unsafe-load"):
        read_checkpoint(str(unsafe))
    assert load_model(cfg, str(unsafe), "mmdet", device="cpu", unsafe_load=True)


def test_missing_checkpoint_and_mismatched_weights_are_errors(tmp_path, detector_checkpoints):
    cfg, _ = detector_checkpoints["retinanet"]
    with pytest.raises(FileNotFoundError, match="checkpoint file not found"):
        load_model(cfg, str(tmp_path / "nope.pth"), "mmdet", device="cpu")
    _, other = detector_checkpoints["rtmdet"]
    with pytest.raises(ValueError, match="does not match the model"):
        load_model(cfg, other, "mmdet", device="cpu")


def test_unknown_framework_is_named():
    relative, overrides = DETECTORS["retinanet"]
    with pytest.raises(ValueError, match="framework"):
        load_model(framework_config("mmdet", relative, **overrides), "x.pth", "mmdx")
