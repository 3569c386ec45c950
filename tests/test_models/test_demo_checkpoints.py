"""The committed demo checkpoints load safely (weights_only) and predict generated scenes."""

import os

import numpy as np
import pytest
import torch

from adcert.certify.detection import box_iou
from adcert.datasets import write_split
from adcert.models.data import build_test_dataset, load_frame
from adcert.models.forward import clean_predictions, detections_array, label_map
from adcert.models.loading import file_sha256, load_config, load_model

from ..helpers import REPO

CHECKPOINTS = os.path.join(REPO, "data", "demo", "checkpoints")
DEMO = {
    "mmdet": ("rtmdet_mnv2_demo.py", "rtmdet_mnv2_demo.pth"),
    "mmseg": ("fpn_mnv2_demo.py", "fpn_mnv2_demo.pth"),
}


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Two test-style frames the models have never seen (seeds outside the demo splits)."""
    root = tmp_path_factory.mktemp("unseen")
    write_split(str(root), "test", [9001, 9002])
    return str(root)


def loaded(framework, frames):
    config, checkpoint = DEMO[framework]
    path = os.path.join(CHECKPOINTS, checkpoint)
    assert os.path.getsize(path) <= 15 * 2**20
    torch.load(path, weights_only=True)  # nothing but tensors and plain containers
    cfg = load_config(os.path.join(REPO, "configs", "demo", config),
                      {"test_dataloader.dataset.data_root": frames + "/"})
    model = load_model(cfg, path, framework, device="cpu")
    assert model.checkpoint_sha256 == file_sha256(path)
    return model, build_test_dataset(cfg)


def test_demo_detector_finds_most_objects(frames):
    model, dataset = loaded("mmdet", frames)
    found = total = 0
    for index in range(len(dataset)):
        packed = load_frame(dataset, index)
        detections = detections_array(clean_predictions(model.model, packed)[0])
        detections = detections[detections[:, 4] >= 0.3]
        gt = packed["data_samples"].gt_instances
        iou = box_iou(gt.bboxes.numpy(), detections[:, :4])
        same_class = gt.labels.numpy()[:, None] == detections[None, :, 5]
        found += int(np.sum(np.any((iou >= 0.5) & same_class, axis=1)))
        total += len(gt.bboxes)
    assert total > 0 and found / total >= 0.4


def test_demo_segmenter_labels_most_pixels(frames):
    model, dataset = loaded("mmseg", frames)
    for index in range(len(dataset)):
        packed = load_frame(dataset, index)
        labels = label_map(clean_predictions(model.model, packed)[0])
        gt = packed["data_samples"].gt_sem_seg.data[0].numpy()
        valid = gt != 255
        assert np.mean(labels[valid] == gt[valid]) >= 0.8


def test_recorded_hashes_match_the_committed_checkpoints():
    lines = open(os.path.join(CHECKPOINTS, "SHA256SUMS")).read().split("\n")
    recorded = dict(reversed(line.split()) for line in lines if line.strip())
    assert set(recorded) == {name for name in os.listdir(CHECKPOINTS) if name.endswith(".pth")}
    for name, digest in recorded.items():
        assert file_sha256(os.path.join(CHECKPOINTS, name)) == digest


@pytest.mark.parametrize("name, share", [("mse", 0.25), ("stab_seg", 1.0), ("stab_det", 1.0)])
def test_demo_denoiser_removes_most_of_the_noise(name, share, frames):
    """The committed denoisers, on unseen frames at their σ = 0.25: the mean squared error
    to the clean frame falls below ``share`` × the noise's σ² = 0.0625 (the MSE denoiser
    well below; the stability ones trade pixel error for what the task model needs)."""
    from adcert.models.denoiser import denoiser_spec, load_denoiser

    path = os.path.join(CHECKPOINTS, f"conv_denoiser_demo_{name}.pth")
    assert os.path.getsize(path) <= 15 * 2**20
    config = os.path.join(REPO, "configs", "denoiser", f"conv_demo_{name}.py")
    denoiser = load_denoiser(denoiser_spec(config), path, torch.device("cpu"))
    cfg = load_config(os.path.join(REPO, "configs", "demo", DEMO["mmseg"][0]),
                      {"test_dataloader.dataset.data_root": frames + "/"})
    dataset = build_test_dataset(cfg)
    generator = torch.Generator().manual_seed(0)
    for index in range(len(dataset)):
        x = load_frame(dataset, index)["inputs"].float()[None] / 255.0
        noisy = x + 0.25 * torch.randn(x.shape, generator=generator)
        with torch.no_grad():
            error = float(torch.mean((denoiser(noisy) - x) ** 2))
        assert error < share * 0.25**2
