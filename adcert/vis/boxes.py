"""Certified boxes of the median-smoothed detector drawn over a frame.

Per box: the smoothed (median) box solid, the certified outer bound (union of every box
the bounds allow) dotted, the inner bound (their intersection) dashed, a short label, and
a red X when an attack may remove the box or change its label (Chiang et al. 2020's
convention). The label is the class and the one figure that matters: "car ≥0.72" for a
certified box, with the worst-case IoU of any box inside its bounds with the smoothed box
(rounded down); "car <0.5" for a certified box whose worst case is below IoU 0.5
(unlocalised, also drawn with a thin line; a tilde would read better, but Hershey draws
it as a dash at small sizes); "car ✗" for a box that may vanish or whose
label is not certified. With a class hierarchy (docs/certificates.md §9) a box that cannot
vanish and whose class is not certified, but a coarser node of its class is
(``label_node``), is drawn as certified present under the node's name: "vehicle ≥0.72", no
X. The caption's legend spells these out. Labels never overlap and
stay inside the frame (:mod:`adcert.vis.labels`). Bounds may be infinite (None in the
records); everything is clipped to the frame.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence

import cv2
import numpy as np

from adcert.certify.detection import worst_case_iou
from adcert.stats._rounding import floor_to
from adcert.vis.caption import (
    GUARANTEE_LINE,
    Swatch,
    add_caption,
    as_bgr_image,
    certified_range_line,
    format_value,
)
from adcert.vis.labels import Label, draw_labels, frame_style
from adcert.vis.palette import (
    BGR,
    CROSS_RED,
    DETECTION_PALETTE,
    OUTLINE,
    class_colour,
    class_name,
)

Point = tuple[float, float]
Segment = tuple[Point, Point]
Box = tuple[float, float, float, float]

LEGEND_LINE = ("solid: smoothed box  dotted: certified outer bound  "
               "dashed: certified inner bound  red X: may vanish or label not certified")
LABEL_LEGEND_LINE = ("label ≥0.72: certified, worst-case IoU with own box ≥ 0.72  "
                     "label <0.5: certified, unlocalised (worst-case IoU below 0.5)  "
                     "label ✗: may vanish or label not certified")
NODE_LABEL_LEGEND_LINE = ("node ≥0.72 (e.g. vehicle ≥0.72): certified present, class certified "
                          "only up to that node, worst-case IoU with own box ≥ 0.72")


def line_thickness(image: np.ndarray) -> int:
    """Box line width that grows with the frame (1 px up to 539 px, 3 px at 1024 px)."""
    return frame_style(*image.shape[:2]).line_width


def _clip_segment(segment: Segment, width: int, height: int) -> Segment | None:
    """Liang-Barsky: the part of ``segment`` inside [0, width] x [0, height], or None."""
    (x1, y1), (x2, y2) = segment
    dx, dy = x2 - x1, y2 - y1
    start, end = 0.0, 1.0
    for p, q in ((-dx, x1), (dx, width - x1), (-dy, y1), (dy, height - y1)):
        if p == 0:
            if q < 0:
                return None  # parallel to this edge and outside it
            continue
        t = q / p
        if p < 0:
            start = max(start, t)
        else:
            end = min(end, t)
    if start > end:
        return None
    return (x1 + start * dx, y1 + start * dy), (x1 + end * dx, y1 + end * dy)


def _pixel(point: Point, width: int, height: int) -> tuple[int, int]:
    # Box coordinates are continuous edges in [0, size]; pixel columns stop at size - 1.
    x = min(max(math.floor(point[0] + 0.5), 0), width - 1)
    y = min(max(math.floor(point[1] + 0.5), 0), height - 1)
    return x, y


def _pattern(segment: Segment, on: float, off: float) -> list[Segment]:
    """``segment`` cut into pieces ``on`` long with ``off`` gaps (on = 0: dots)."""
    (x1, y1), (x2, y2) = segment
    length = math.hypot(x2 - x1, y2 - y1)
    if length == 0:
        return [segment]
    pieces, start = [], 0.0
    while start <= length:
        end = min(start + on, length)
        pieces.append(((x1 + (x2 - x1) * start / length, y1 + (y2 - y1) * start / length),
                       (x1 + (x2 - x1) * end / length, y1 + (y2 - y1) * end / length)))
        start += on + off
    return pieces


def _stroke(image: np.ndarray, segments: Iterable[Segment], colour: BGR, thickness: int,
            outline: BGR | None = OUTLINE) -> None:
    """Clip and draw ``segments``: all dark outlines first, then the colour on top."""
    height, width = image.shape[:2]
    clipped = [s for s in (_clip_segment(s, width, height) for s in segments) if s]
    pixels = [(_pixel(a, width, height), _pixel(b, width, height)) for a, b in clipped]
    if outline is not None:
        for a, b in pixels:
            cv2.line(image, a, b, outline, thickness + 2, cv2.LINE_8)
    for a, b in pixels:
        cv2.line(image, a, b, colour, thickness, cv2.LINE_8)


def draw_dotted_line(image: np.ndarray, p1: Point, p2: Point, colour: BGR, thickness: int = 1,
                     spacing: float | None = None, outline: BGR | None = OUTLINE) -> None:
    """Draw a dotted line from ``p1`` to ``p2`` in place, clipped to the image; dots are
    ``spacing`` px apart (default 3 × thickness + 3) with a dark rim."""
    spacing = 3 * thickness + 3 if spacing is None else spacing
    visible = _clip_segment((p1, p2), image.shape[1], image.shape[0])
    if visible is not None:  # clipped first: a far-off end would mean millions of dots
        _stroke(image, _pattern(visible, 0.0, spacing), colour, thickness, outline)


def draw_dashed_line(image: np.ndarray, p1: Point, p2: Point, colour: BGR, thickness: int = 1,
                     dash: float | None = None, gap: float | None = None,
                     outline: BGR | None = OUTLINE) -> None:
    """Draw a dashed line from ``p1`` to ``p2`` in place, clipped to the image; dashes
    ``dash`` px long with ``gap`` px between (defaults grow with the thickness)."""
    dash = 5 * thickness + 4 if dash is None else dash
    gap = 3 * thickness + 3 if gap is None else gap
    visible = _clip_segment((p1, p2), image.shape[1], image.shape[0])
    if visible is not None:
        _stroke(image, _pattern(visible, dash, gap), colour, thickness, outline)


def _sides(box: Box, width: int, height: int) -> list[Segment]:
    """The 4 sides of ``box``; infinite coordinates are moved just outside the frame, which
    keeps axis-parallel sides exact and keeps the arithmetic finite."""
    x1, y1, x2, y2 = (min(max(v, -1.0), size + 1.0)
                      for v, size in zip(box, (width, height, width, height), strict=True))
    return [((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)),
            ((x1, y2), (x1, y1))]


def _draw_box(image: np.ndarray, box: Box, style: str, colour: BGR, thickness: int) -> None:
    height, width = image.shape[:2]
    sides = _sides(box, width, height)
    if style == "dotted":
        sides = [p for side in sides for p in _pattern(side, 0.0, 3 * thickness + 3)]
    elif style == "dashed":
        sides = [p for side in sides for p in _pattern(side, 5 * thickness + 4, 3 * thickness + 3)]
    _stroke(image, sides, colour, thickness)


def _bound(values: object, fill: float, what: str, index: int) -> Box:
    """A record's ``lower``/``upper``: None (wholly unbounded) or 4 entries, None = ``fill``."""
    if values is None:
        return (fill,) * 4
    if not isinstance(values, Sequence) or len(values) != 4:
        raise ValueError(f"box {index}: `{what}` must hold 4 values or be null, got {values!r}")
    return tuple(fill if v is None else float(v) for v in values)


def _parse_box(box: object, index: int) -> dict:
    if not isinstance(box, Mapping):
        raise ValueError(f"box {index} is not an object: {box!r}")
    bbox = box.get("bbox")
    if (not isinstance(bbox, Sequence) or len(bbox) != 4
            or not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in bbox)):
        raise ValueError(f"box {index}: `bbox` must be 4 finite numbers, got {bbox!r}")
    label = box.get("label")
    if isinstance(label, bool) or not isinstance(label, numbers.Integral) or label < 0:
        raise ValueError(f"box {index}: `label` must be a class id, got {label!r}")
    label_certified = bool(box.get("label_certified", False))
    may_vanish = bool(box.get("may_vanish", True))
    node = box.get("label_node")
    if node is not None and not isinstance(node, str):
        raise ValueError(f"box {index}: `label_node` must be a node name or null, got {node!r}")
    if label_certified or may_vanish:
        node = None  # its class is certified, or it may vanish: drawn as without hierarchy
    lower = _bound(box.get("lower"), -math.inf, "lower", index)
    upper = _bound(box.get("upper"), math.inf, "upper", index)
    localisation = box.get("localisation_iou")
    if localisation is None:
        localisation = worst_case_iou(lower, upper, tuple(float(v) for v in bbox))
    return {
        "bbox": tuple(float(v) for v in bbox),
        "lower": lower,
        "upper": upper,
        "localisation_iou": float(localisation),
        "label": int(label),
        "certified": label_certified and not may_vanish,
        # certified present with only a coarser node of its class certified (§9)
        "node": node,
        "node_level": None if node is None else box.get("label_node_level"),
        "crossed": may_vanish or (not label_certified and node is None),
        "score": box.get("score"),
    }


def parse_boxes(record: Mapping) -> list[dict]:
    """The record's boxes, checked: bbox, bounds (None → ±∞), label, certified flags."""
    boxes = record.get("boxes")
    if not isinstance(boxes, list):
        raise ValueError(f"detection record {record.get('image_id')!r} has no `boxes` list")
    return [_parse_box(box, i) for i, box in enumerate(boxes)]


def certified_object_count(record: Mapping) -> tuple[int, int]:
    """(certified, total) boxes; certified = label certified and the box cannot vanish."""
    boxes = parse_boxes(record)
    return sum(box["certified"] for box in boxes), len(boxes)


def localised_count(record: Mapping) -> int:
    """Certified boxes whose every admitted box overlaps the smoothed one with IoU ≥ 0.5."""
    return sum(b["certified"] and b["localisation_iou"] >= 0.5 for b in parse_boxes(record))


def node_count(record: Mapping) -> int:
    """Boxes certified present whose class is certified only as a coarser node (§9)."""
    return sum(box["node"] is not None for box in parse_boxes(record))


def _present(box: dict) -> bool:
    """Certified present with a certified class or a certified coarser node."""
    return box["certified"] or box["node"] is not None


def short_status(box: dict) -> str:
    """The one figure of a parsed box's label: "≥0.72" (certified, or certified present at
    a coarser node; worst-case IoU with its own box, rounded down), "<0.5" (the same,
    unlocalised) or "✗" (not certified)."""
    if not _present(box):
        return "✗"
    if box["localisation_iou"] < 0.5:
        return "<0.5"
    return f"≥{floor_to(box['localisation_iou'], 2):.2f}"


def draw_certified_boxes(image: np.ndarray, record: Mapping,
                         classes: Sequence[str] | None = None,
                         palette: Sequence[BGR] | None = None) -> np.ndarray:
    """A copy of ``image`` with every box of a detection record: median box solid, outer
    bound dotted, inner bound dashed (when non-empty), a short label (class and ≥IoU,
    <0.5 or ✗; laid out by :func:`adcert.vis.labels.draw_labels`), red X where the box may
    vanish or its label is not certified. A box certified present whose class is certified
    only as a coarser node (``label_node``, §9) is labelled with the node's name and gets
    no X. The certificates are about the median-smoothed detector, not the base model."""
    palette = DETECTION_PALETTE if palette is None else palette
    out = as_bgr_image(image).copy()
    thickness = line_thickness(out)
    labels = []
    for box in parse_boxes(record):
        colour = class_colour(box["label"], palette)
        lower, upper = box["lower"], box["upper"]
        _draw_box(out, (lower[0], lower[1], upper[2], upper[3]), "dotted", colour, thickness)
        inner = (upper[0], upper[1], lower[2], lower[3])
        if all(map(math.isfinite, inner)) and inner[0] < inner[2] and inner[1] < inner[3]:
            _draw_box(out, inner, "dashed", colour, thickness)
        loose = _present(box) and box["localisation_iou"] < 0.5
        _draw_box(out, box["bbox"], "solid", colour, 1 if loose else thickness)
        if box["crossed"]:
            x1, y1, x2, y2 = box["bbox"]
            _stroke(out, [((x1, y1), (x2, y2)), ((x1, y2), (x2, y1))], CROSS_RED, thickness)
        name = box["node"] or class_name(box["label"], classes)
        labels.append(Label(f"{name} {short_status(box)}", box["bbox"], colour))
    draw_labels(out, labels)  # last, so that no box line crosses a label
    return out


def detection_caption(record: Mapping) -> list[str]:
    """Caption lines: method and settings, certified object count, what holds for whom."""
    certified, total = certified_object_count(record)
    get = record.get
    return [
        f"method: {get('method')}  bin: {format_value(get('bin'))}  "
        f"sort: {format_value(get('sort'))}  correction: {format_value(get('correction'))}",
        f"sigma: {format_value(get('sigma'))}  eps: {format_value(get('eps'))}  "
        f"n: {format_value(get('n'))}  alpha: {format_value(get('alpha'))}  "
        f"transform: {get('transform') or 'gaussian'}",
        *certified_range_line(record),
        f"certified objects: {certified} of {total}  (label certified and cannot vanish), "
        f"{localised_count(record)} localised (worst-case IoU with own box ≥ 0.5)",
        *_hierarchy_lines(record),
        LEGEND_LINE,
        LABEL_LEGEND_LINE,
        GUARANTEE_LINE,
    ]


def _hierarchy_lines(record: Mapping) -> list[str]:
    """With a class hierarchy (§9): how many boxes are certified present at a coarser node
    only, at which levels, and how their labels read; nothing for a flat record."""
    boxes = parse_boxes(record)
    nodes = [b for b in boxes if b["node"] is not None]
    if not nodes and not record.get("hierarchy"):
        return []
    levels = sorted({str(b["node_level"]) for b in nodes if b["node_level"]})
    at = f" (level {', '.join(levels)})" if levels else ""
    return [f"hierarchy {record.get('hierarchy') or '-'}: boxes certified present with "
            f"their class certified only up to a coarser node: {len(nodes)}{at}",
            NODE_LABEL_LEGEND_LINE]


def _class_swatches(class_ids: Iterable[int], classes: Sequence[str] | None,
                    palette: Sequence[BGR]) -> list[Swatch]:
    return [(class_colour(i, palette), class_name(i, classes)) for i in sorted(set(class_ids))]


def draw_detection_record(image: np.ndarray, record: Mapping,
                          classes: Sequence[str] | None = None,
                          palette: Sequence[BGR] | None = None,
                          caption: bool = True) -> np.ndarray:
    """The frame with the record's certified boxes (see :func:`draw_certified_boxes`) and,
    below it, a caption bar: method, sigma, eps, n, alpha, transform, how many objects
    are certified, a line-style legend, the class colours, and that the certificates
    hold for the smoothed model."""
    palette = DETECTION_PALETTE if palette is None else palette
    drawn = draw_certified_boxes(image, record, classes, palette)
    if not caption:
        return drawn
    swatches = _class_swatches((b["label"] for b in parse_boxes(record)), classes, palette)
    return add_caption(drawn, detection_caption(record), swatches)


def draw_clean_detections(image: np.ndarray, detections: np.ndarray,
                          classes: Sequence[str] | None = None,
                          palette: Sequence[BGR] | None = None,
                          score_thr: float = 0.0) -> np.ndarray:
    """A copy of ``image`` with the base model's clean detections, a (k, 6) array of
    x1, y1, x2, y2, score, label (or (k, 5) without labels): solid boxes and
    "name score" labels. These carry no certificate; only the smoothed model's do."""
    palette = DETECTION_PALETTE if palette is None else palette
    detections = np.asarray(detections, dtype=np.float64)
    if detections.size == 0:
        detections = detections.reshape(0, 6)
    if detections.ndim != 2 or detections.shape[1] not in (5, 6):
        raise ValueError(f"clean detections must be (k, 5) or (k, 6), got {detections.shape}")
    out = as_bgr_image(image).copy()
    thickness = line_thickness(out)
    labels = []
    for row in detections:
        if row[4] < score_thr or not np.all(np.isfinite(row[:4])):
            continue
        label = int(row[5]) if len(row) == 6 else 0
        colour = class_colour(label, palette)
        bbox = tuple(float(v) for v in row[:4])
        _draw_box(out, bbox, "solid", colour, thickness)
        labels.append(Label(f"{class_name(label, classes)} {row[4]:.2f}", bbox, colour))
    draw_labels(out, labels)
    return out
