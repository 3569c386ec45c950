"""Tiny randomly initialised OpenMMLab models of each family, saved as checkpoints."""

import os

import pytest

pytest.importorskip("mmdet")
pytest.importorskip("mmseg")

from mmengine.config import Config  # noqa: E402

from ..helpers import random_checkpoint  # noqa: E402


def framework_config(framework: str, relative: str, **overrides) -> Config:
    package = __import__(framework)
    path = os.path.join(os.path.dirname(package.__file__), ".mim", "configs", relative)
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(overrides)
    return cfg


# Small members of each detector family: two-stage, one-stage anchor-based and
# anchor-free, and query-based. No backbone weights are loaded.
DETECTORS = {
    "faster_rcnn": ("faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py", {
        "model.backbone.depth": 18, "model.backbone.init_cfg": None,
        "model.neck.in_channels": [64, 128, 256, 512], "model.test_cfg.rcnn.score_thr": 0.0}),
    "retinanet": ("retinanet/retinanet_r18_fpn_1x_coco.py", {"model.backbone.init_cfg": None}),
    "rtmdet": ("rtmdet/rtmdet_tiny_8xb32-300e_coco.py", {"model.backbone.init_cfg": None}),
    "yolox": ("yolox/yolox_tiny_8xb8-300e_coco.py", {}),
    "detr": ("detr/detr_r18_8xb2-500e_coco.py", {"model.backbone.init_cfg": None}),
}


@pytest.fixture(scope="session")
def detector_checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("detectors")
    out = {}
    for name, (relative, overrides) in DETECTORS.items():
        cfg = framework_config("mmdet", relative, **overrides)
        out[name] = (cfg, random_checkpoint(cfg, "mmdet", root / f"{name}.pth"))
    return out
