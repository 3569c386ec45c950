"""Colours for classes and for abstention, all BGR (OpenCV order), all deterministic."""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Sequence

import numpy as np

from adcert.datasets.labels import CITYSCAPES_CLASSES

BGR = tuple[int, int, int]

# Same value as adcert.certify.segmentation.ABSTAIN_PIXEL; kept here so that drawing
# does not import the statistics core (scipy).
ABSTAIN_PIXEL = 255

# Abstained pixels: light stripes over a darkened greyscale copy of the frame. Both are
# pure greys, and no generated class colour is grey, so the hatch cannot pass for a class.
ABSTAIN_STRIPE: BGR = (215, 215, 215)
ABSTAIN_BASE: BGR = (45, 45, 45)

# Red of the "may vanish / label not certified" cross (Chiang et al.'s convention).
CROSS_RED: BGR = (0, 0, 255)
# Outline under lines and text so that they stay readable on bright and on dark scenes.
OUTLINE: BGR = (20, 20, 20)
CAPTION_BACKGROUND: BGR = (32, 32, 32)
CAPTION_TEXT: BGR = (235, 235, 235)

# Saturated box colours, one per class id (car, person, rider, traffic sign first for the
# demo classes); ids beyond the list get generated_colour.
DETECTION_PALETTE: tuple[BGR, ...] = (
    (0, 165, 255),  # orange
    (255, 0, 255),  # magenta
    (255, 191, 0),  # sky blue
    (0, 255, 255),  # yellow
    (0, 255, 0),  # green
    (255, 255, 0),  # cyan
    (128, 0, 255),  # pink-red
    (255, 0, 128),  # violet
)

# Cityscapes' official trainId colours, converted from RGB to BGR.
_CITYSCAPES_RGB: tuple[BGR, ...] = (
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70),
    (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
)
CITYSCAPES_PALETTE: tuple[BGR, ...] = tuple((b, g, r) for r, g, b in _CITYSCAPES_RGB)


def generated_colour(class_id: int) -> BGR:
    """A saturated colour derived from a hash of ``class_id``; never a grey, so never an
    abstain colour. Stable across runs and machines (sha256, not Python's hash)."""
    digest = hashlib.sha256(f"adcert.vis class {int(class_id)}".encode()).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536.0
    saturation = 0.55 + 0.45 * digest[2] / 255.0
    value = 0.7 + 0.3 * digest[3] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, saturation, value)
    return (round(b * 255), round(g * 255), round(r * 255))


def class_colour(class_id: int, palette: Sequence[BGR] | None = None) -> BGR:
    """``palette[class_id]`` when the palette has that entry, else a generated colour."""
    if class_id < 0:
        raise ValueError(f"class ids must be non-negative, got {class_id}")
    if palette is not None and class_id < len(palette):
        return tuple(int(c) for c in palette[class_id])
    return generated_colour(class_id)


def segmentation_palette(classes: Sequence[str] | None) -> tuple[BGR, ...]:
    """Cityscapes colours for the Cityscapes classes, or when no names are given (the
    project's segmenters predict trainIds); otherwise none, so every id is generated."""
    if classes is None or tuple(classes) == CITYSCAPES_CLASSES:
        return CITYSCAPES_PALETTE
    return ()


def class_name(class_id: int, classes: Sequence[str] | None) -> str:
    if classes is not None and 0 <= class_id < len(classes):
        return str(classes[class_id])
    return f"class {class_id}"


def text_colour_on(background: BGR) -> BGR:
    """Black or white text, whichever reads better on ``background``."""
    b, g, r = background
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (255, 255, 255)


def hatch_mask(height: int, width: int, period: int, stripe: int) -> np.ndarray:
    """(height, width) bool: diagonal stripes ``stripe`` px wide every ``period`` px."""
    rows, cols = np.ogrid[:height, :width]
    return (rows + cols) % period < stripe
