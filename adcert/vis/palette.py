"""Colours for classes and for abstention, all BGR (OpenCV order), all deterministic.

Class colours come from the run: the palette of the model's ``dataset_meta`` (RGB, as
OpenMMLab stores it; :func:`palette_from_meta` converts it) when it gives one colour per
class, else the project's own box colours or colours generated from the class id.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BGR = tuple[int, int, int]

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

# Saturated box colours by class id, for runs whose dataset_meta has no usable palette;
# ids beyond the list get generated_colour.
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


def palette_from_meta(palette: Sequence[Sequence[int]] | None,
                      classes: Sequence[str] | None = None) -> tuple[BGR, ...] | None:
    """A ``dataset_meta['palette']`` (RGB triples) as BGR colours, or None when there is
    none or, with ``classes`` given, when it does not hold exactly one colour per class
    (e.g. mmdet's 80 COCO colours kept beside a config's own four classes)."""
    if not palette:
        return None
    if classes is not None and len(palette) != len(classes):
        return None
    colours = []
    for entry in palette:
        if len(entry) != 3 or not all(0 <= int(c) <= 255 for c in entry):
            raise ValueError(f"a palette holds RGB triples in 0..255, got {list(entry)}")
        r, g, b = (int(c) for c in entry)
        colours.append((b, g, r))
    return tuple(colours)


def class_name(class_id: int, classes: Sequence[str] | None) -> str:
    """``classes[class_id]``, or "class <id>" when the run named no such class."""
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


# Pixels certified only at a coarser node of a class hierarchy (docs/certificates.md §9):
# stripes of the node's colour over a dark shade or a light tint of it, whichever stands
# out more from the stripes where it is drawn, running along the other diagonal than the
# abstain hatch, narrower for coarser levels: the less a certificate says, the less
# colour it shows.
NODE_BASE_SHADE = 0.35
NODE_BASE_TINT = 0.5


@dataclass(frozen=True)
class NodeHatch:
    """A legend colour for a node certified above the fine level: ``colour`` hatched as
    :func:`node_hatch_mask` draws level ``level`` (≥ 1)."""

    colour: BGR
    level: int


def node_hatch_mask(height: int, width: int, period: int, level: int) -> np.ndarray:
    """(height, width) bool: the stripes of a node of hierarchy level ``level`` ≥ 1, every
    ``period`` px along the other diagonal than :func:`hatch_mask`'s, period / (2 · level)
    px wide (at least 1)."""
    if level < 1:
        raise ValueError(f"node hatches are for levels above the classes, got level {level}")
    rows, cols = np.ogrid[:height, :width]
    return (cols - rows) % period < max(1, round(period / (2 * level)))


def luma(colour: BGR) -> float:
    """Perceived brightness of a BGR colour, 0 … 255."""
    b, g, r = colour
    return 0.114 * b + 0.587 * g + 0.299 * r


def node_base(colour: BGR, behind: float = 0.0, alpha: float = 1.0) -> BGR:
    """The colour between a node hatch's stripes: a dark shade or a light tint of
    ``colour``, whichever, blended with weight ``alpha`` over a frame of mean grey
    ``behind``, differs more in brightness from the stripes (``colour`` itself)."""
    shade = tuple(round(c * NODE_BASE_SHADE) for c in colour)
    tint = tuple(round(c + (255 - c) * NODE_BASE_TINT) for c in colour)

    def contrast(base: BGR) -> float:
        return abs(luma(colour) - (behind * (1.0 - alpha) + luma(base) * alpha))

    return shade if contrast(shade) >= contrast(tint) else tint


def is_grey(colour: BGR, spread: int = 30) -> bool:
    """Whether ``colour`` is (nearly) a grey, which a node hatch could pass for the
    abstain hatch in."""
    return max(colour) - min(colour) < spread
