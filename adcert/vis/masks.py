"""Certified label maps of the smoothed segmenter drawn over a frame.

Class pixels are alpha-blended in their class colour; abstained pixels (255) become a
grey hatch (light diagonal stripes over a darkened greyscale frame). Hatch pixels are
always pure greys and generated class colours never are, so an abstention cannot be
mistaken for a class.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from adcert import ABSTAIN_PIXEL
from adcert.vis.caption import (
    GUARANTEE_LINE,
    Swatch,
    add_caption,
    as_bgr_image,
    certified_range_line,
    format_value,
)
from adcert.vis.palette import (
    ABSTAIN_BASE,
    ABSTAIN_STRIPE,
    BGR,
    class_colour,
    class_name,
    hatch_mask,
)


def check_label_map(labels: np.ndarray) -> np.ndarray:
    """``labels`` as an (H, W) integer array of non-negative class ids (255 = abstain)."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"a label map must be an (H, W) integer array, got "
                         f"{labels.dtype} {labels.shape}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"label maps hold non-negative class ids, found {labels.min()}")
    return labels


def load_label_map(path: str) -> np.ndarray:
    """Read a label-map PNG (one channel of class ids) as written by certify_seg."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"label map not found: {path}")
    labels = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if labels is None:
        raise OSError(f"cannot read label map {path}")
    if labels.ndim != 2:
        raise ValueError(f"label map {path} must have one channel, has shape {labels.shape}")
    return labels


def fit_label_map(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize (any integer dtype) when the map and frame sizes differ."""
    if labels.shape == (height, width):
        return labels
    rows = np.arange(height) * labels.shape[0] // height
    cols = np.arange(width) * labels.shape[1] // width
    return labels[rows[:, None], cols[None, :]]


def hatch_period(height: int, width: int) -> int:
    """Stripe period of the hatches on an (height, width) frame: grows with the frame."""
    return max(6, round(min(height, width) / 48))


def _hatch(height: int, width: int) -> np.ndarray:
    period = hatch_period(height, width)
    return hatch_mask(height, width, period, max(2, period * 3 // 8))


def _class_colours(labels: np.ndarray, palette: Sequence[BGR]) -> np.ndarray:
    ids, inverse = np.unique(labels, return_inverse=True)
    table = np.array([class_colour(int(i), palette) if i != ABSTAIN_PIXEL else (0, 0, 0)
                      for i in ids], dtype=np.uint8).reshape(-1, 3)
    return table[inverse.reshape(labels.shape)]


def overlay_labels(image: np.ndarray, labels: np.ndarray,
                   palette: Sequence[BGR] | None = None, alpha: float = 0.5) -> np.ndarray:
    """A copy of ``image`` with ``labels`` blended in class colours (weight ``alpha``) and
    abstained pixels (255) drawn as the grey hatch. ``palette`` is BGR by class id (e.g.
    :func:`adcert.vis.palette.palette_from_meta` of the run's ``dataset_meta``); ids
    without an entry get a generated colour. The map is resized (nearest) to the frame if
    their sizes differ."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    palette = () if palette is None else palette
    frame = as_bgr_image(image)
    height, width = frame.shape[:2]
    labels = fit_label_map(check_label_map(labels), height, width)
    colours = _class_colours(labels, palette).astype(np.float32)
    blended = np.rint(frame.astype(np.float32) * (1.0 - alpha) + colours * alpha)
    out = blended.astype(np.uint8)

    abstain = labels == ABSTAIN_PIXEL
    if abstain.any():
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None]
        base = np.rint(grey * (1.0 - alpha) + np.float32(ABSTAIN_BASE[0]) * alpha)
        out[abstain] = np.repeat(base.astype(np.uint8), 3, axis=2)[abstain]
        out[abstain & _hatch(height, width)] = ABSTAIN_STRIPE
    return out


def colourize_labels(labels: np.ndarray, palette: Sequence[BGR] | None = None) -> np.ndarray:
    """The label map alone as a BGR image: class colours, abstained pixels as the hatch."""
    labels = check_label_map(labels)
    blank = np.zeros((*labels.shape, 3), np.uint8)
    return overlay_labels(blank, labels, palette, alpha=1.0)


def abstain_rate(labels: np.ndarray) -> float:
    """Fraction of the map's pixels that abstain."""
    labels = check_label_map(labels)
    return float(np.mean(labels == ABSTAIN_PIXEL)) if labels.size else 0.0


def record_abstain_rate(record: Mapping, labels: np.ndarray) -> float:
    """The record's ``abstain_rate`` when it has one, else the map's own."""
    rate = record.get("abstain_rate")
    return float(rate) if isinstance(rate, int | float) else abstain_rate(labels)


def settings_caption(record: Mapping) -> list[str]:
    """Caption lines of a segmentation record's method, settings and certified range."""
    get = record.get
    return [
        f"method: {get('method')}  correction: {format_value(get('correction'))}",
        f"sigma: {format_value(get('sigma'))}  radius: {format_value(get('radius'), 'down')}  "
        f"tau: {format_value(get('tau'))}  n0: {format_value(get('n0'))}  "
        f"n: {format_value(get('n'))}  alpha: {format_value(get('alpha'))}  "
        f"transform: {get('transform') or 'gaussian'}",
        *certified_range_line(record),
    ]


def segmentation_caption(record: Mapping, labels: np.ndarray) -> list[str]:
    """Caption lines: method and settings, abstain rate, what holds for whom."""
    return [
        *settings_caption(record),
        f"abstain rate: {record_abstain_rate(record, labels):.1%}  "
        "(grey hatch: no class certified)",
        GUARANTEE_LINE,
    ]


def draw_segmentation_record(image: np.ndarray, labels: np.ndarray, record: Mapping,
                             classes: Sequence[str] | None = None,
                             palette: Sequence[BGR] | None = None,
                             alpha: float = 0.5, caption: bool = True) -> np.ndarray:
    """The frame with the smoothed segmenter's certified map overlaid (class colours,
    abstentions hatched; see :func:`overlay_labels`) and, below it, a caption bar: method,
    sigma, certified radius, n, alpha, transform, abstain rate, the colours of the classes
    present, and that the certificates hold for the smoothed model."""
    palette = () if palette is None else palette
    labels = check_label_map(labels)
    drawn = overlay_labels(image, labels, palette, alpha)
    if not caption:
        return drawn
    present = [int(i) for i in np.unique(labels) if i != ABSTAIN_PIXEL]
    swatches: list[Swatch] = [(class_colour(i, palette), class_name(i, classes))
                              for i in present]
    swatches.append((None, "abstain"))
    return add_caption(drawn, segmentation_caption(record, labels), swatches)


def draw_clean_mask(image: np.ndarray, labels: np.ndarray,
                    classes: Sequence[str] | None = None,
                    palette: Sequence[BGR] | None = None, alpha: float = 0.5) -> np.ndarray:
    """The frame with the base model's clean label map overlaid in class colours; a clean
    map carries no certificate (only the smoothed model's certified map does)."""
    return overlay_labels(image, labels, palette, alpha)
