"""Tiny randomly initialised OpenMMLab models of each family, saved as checkpoints."""

import copy
import os

import pytest
import torch

pytest.importorskip("mmdet")
pytest.importorskip("mmseg")

from mmengine.config import Config  # noqa: E402


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


def save_random_checkpoint(cfg: Config, framework: str, path) -> str:
    if framework == "mmdet":
        from mmdet.utils import register_all_modules
    else:
        from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    from mmengine.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    torch.save({"state_dict": model.state_dict(), "meta": {"dataset_meta": {"classes": ["a"]}}},
               str(path))
    return str(path)


@pytest.fixture(scope="session")
def detector_checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("detectors")
    out = {}
    for name, (relative, overrides) in DETECTORS.items():
        cfg = framework_config("mmdet", relative, **overrides)
        out[name] = (cfg, save_random_checkpoint(cfg, "mmdet", root / f"{name}.pth"))
    return out
