import numpy as np
import pytest
import torch

from adcert.models import forward
from adcert.models.forward import (
    clean_predictions,
    detections_array,
    label_map,
    perturbed_predictions,
)
from adcert.models.loading import load_model
from adcert.noise import GaussianNoise, image_generator

from ..helpers import random_checkpoint
from .conftest import DETECTORS, framework_config


def packed_detection_frame():
    from mmdet.structures import DetDataSample

    generator = torch.Generator().manual_seed(0)
    inputs = torch.randint(0, 255, (3, 64, 96), dtype=torch.uint8, generator=generator)
    sample = DetDataSample(metainfo=dict(
        img_id=0, img_shape=(64, 96), ori_shape=(128, 192), scale_factor=(0.5, 0.5),
        batch_input_shape=(64, 96), pad_shape=(64, 96)))
    return {"inputs": inputs, "data_samples": sample}


@pytest.mark.parametrize("family", DETECTORS)
def test_every_detector_family_runs_batched_noisy_copies(family, detector_checkpoints):
    cfg, checkpoint = detector_checkpoints[family]
    loaded = load_model(cfg, checkpoint, "mmdet", device="cpu")
    packed = packed_detection_frame()
    clean = detections_array(clean_predictions(loaded.model, packed)[0])
    assert clean.ndim == 2 and clean.shape[1] == 6
    batches = list(perturbed_predictions(loaded.model, packed, GaussianNoise(0.25), 5, 2,
                                         image_generator(0, 0)))
    assert [len(b) for b in batches] == [2, 2, 1]
    arrays = [detections_array(r) for b in batches for r in b]
    finite = np.concatenate([a[:, :4] for a in arrays])
    finite = finite[np.isfinite(finite)]
    # Predictions are in the original image's coordinates (twice the resized frame here).
    if family != "yolox":  # random YOLOX weights give degenerate boxes
        assert finite.size and finite.max() > 96


def test_noisy_copies_do_not_depend_on_batch_size(detector_checkpoints):
    cfg, checkpoint = detector_checkpoints["retinanet"]
    model = load_model(cfg, checkpoint, "mmdet", device="cpu").model
    packed = packed_detection_frame()

    def run(batch_size):
        batches = perturbed_predictions(model, packed, GaussianNoise(0.25), 4, batch_size,
                                        image_generator(5, "frame"))
        return [detections_array(r) for b in batches for r in b]

    for a, b in zip(run(1), run(4), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("cores, threads, ahead", [(2, 2, False), (4, 2, True), (1, 1, False)])
def test_cpu_run_draws_noise_ahead_only_beside_a_free_core(cores, threads, ahead, monkeypatch):
    monkeypatch.setattr(forward.os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(forward.torch, "get_num_threads", lambda: threads)
    monkeypatch.setattr(forward, "CPU_PREFETCH", None)
    assert forward.cpu_prefetch() is ahead
    for setting in (True, False):  # a setting overrides the cores
        monkeypatch.setattr(forward, "CPU_PREFETCH", setting)
        assert forward.cpu_prefetch() is setting


@pytest.mark.parametrize("mode", ["whole", "slide"])
def test_segmenter_predicts_label_maps_at_original_resolution(mode, tmp_path):
    from mmseg.structures import SegDataSample

    cfg = framework_config("mmseg", "fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py", **{
        "model.backbone.init_cfg": None, "model.pretrained": None,
        "model.test_cfg": dict(mode=mode, crop_size=(32, 32), stride=(24, 24)),
        "model.auxiliary_head": None})
    checkpoint = random_checkpoint(cfg, "mmseg", tmp_path / "fcn.pth")
    model = load_model(cfg, checkpoint, "mmseg", device="cpu").model
    inputs = torch.randint(0, 255, (3, 48, 64), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(48, 64), ori_shape=(96, 128)))
    packed = {"inputs": inputs, "data_samples": sample}
    clean = label_map(clean_predictions(model, packed)[0])
    assert clean.shape == (96, 128)
    maps = [label_map(r) for b in perturbed_predictions(
        model, packed, GaussianNoise(0.5), 3, 2, image_generator(0, 0)) for r in b]
    assert len(maps) == 3 and all(m.shape == (96, 128) for m in maps)
    assert all(m.min() >= 0 and m.max() < 19 for m in maps)
