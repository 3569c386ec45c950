"""Box labels laid out so that no two overlap and every one lies inside the frame.

Each label is tried first right at its box — above it, below it, inside its top, inside
its bottom — then shifted along those rows and the rows stacked beyond them, nearest
first; a label placed away from its box gets a thin leader line to it. A label that
finds no free place within a few label heights of its box is not drawn over another:
it is dropped and counted in a corner note ("3 labels hidden"). Bigger boxes (nearer
objects) are placed first, so the labels that give way are those of the smallest boxes.

Sizes come from :func:`frame_style`: text and lines grow with the frame, so a
2048 × 1024 Cityscapes frame and a 512 × 256 demo frame read alike. All output is
deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from adcert.vis.caption import ascii_text, draw_text_box, text_size
from adcert.vis.palette import BGR, OUTLINE

Box = tuple[float, float, float, float]
Rect = tuple[int, int, int, int]  # x, y, width, height in pixels
NOTE_BACKGROUND: BGR = (0, 0, 0)
# How far from its box a label may go (in label heights) and still be read as its box's.
MAX_LEADER_HEIGHTS = 5.0
# Rows tried beyond the first row above and the first row below the box.
EXTRA_ROWS = 3


@dataclass(frozen=True)
class FrameStyle:
    """Text and line sizes for one frame size."""

    font_scale: float  # OpenCV Hershey scale
    text_thickness: int
    line_width: int  # box outlines
    pad: int  # space around the text inside its label
    gap: int  # space kept between two labels


def frame_style(height: int, width: int) -> FrameStyle:
    """Sizes that grow with the frame: font scale 1.0 and 3 px lines on a 2048 × 1024
    frame; on small frames the font stays at scale 0.4 (about 9 px capitals, the least
    that reads) and lines at 1 px."""
    scale = min(max(min(width / 2048.0, height / 1024.0), 0.4), 1.5)
    return FrameStyle(font_scale=scale, text_thickness=1 if scale < 0.8 else 2,
                      line_width=max(1, round(min(height, width) / 360)),
                      pad=max(2, round(3 * scale)), gap=max(2, round(3 * scale)))


@dataclass(frozen=True)
class Label:
    """A text to put next to ``box`` (x1, y1, x2, y2) on a ``colour`` background."""

    text: str
    box: Box
    colour: BGR


@dataclass(frozen=True)
class PlacedLabel:
    label: Label
    rect: Rect
    leader: tuple[tuple[int, int], tuple[int, int]] | None  # label end, box end


@dataclass(frozen=True)
class LabelLayout:
    placed: tuple[PlacedLabel, ...]
    hidden: int  # labels of boxes in the frame that found no free place
    note: tuple[str, Rect] | None  # the corner note counting them


def label_size(text: str, style: FrameStyle) -> tuple[int, int]:
    """Width and height of the filled label box for ``text``."""
    width, height, depth = text_size(ascii_text(text), style.font_scale, style.text_thickness)
    return width + 2 * style.pad, height + depth + 2 * style.pad


def _clipped(box: Box, height: int, width: int) -> Box | None:
    """The part of ``box`` inside the frame, or None when none of it is."""
    x1, y1, x2, y2 = max(box[0], 0.0), max(box[1], 0.0), min(box[2], width), min(box[3], height)
    return (x1, y1, x2, y2) if x1 < x2 and y1 < y2 else None


def _rows(box: Box, label_h: int, gap: int) -> list[tuple[int, int]]:
    """(top, preference) of the rows a label may sit in: above, below, inside top,
    inside bottom, then rows stacked further above and below."""
    x1, y1, x2, y2 = box
    top, bottom = math.floor(y1), math.ceil(y2)
    rows = [(top - label_h, 0), (bottom, 1)]
    if bottom - top >= 2 * label_h:  # inside only where the object stays visible
        rows += [(top, 2), (bottom - label_h, 3)]
    step = label_h + gap
    for k in range(1, EXTRA_ROWS + 1):
        rows += [(top - label_h - k * step, 4), (bottom + k * step, 4)]
    return rows


def _distance(rects: np.ndarray, box: Box) -> np.ndarray:
    """Gap between each (x, y, w, h) rect and ``box`` (0 where they touch or overlap)."""
    dx = np.maximum.reduce([box[0] - (rects[:, 0] + rects[:, 2]), rects[:, 0] - box[2],
                            np.zeros(len(rects))])
    dy = np.maximum.reduce([box[1] - (rects[:, 1] + rects[:, 3]), rects[:, 1] - box[3],
                            np.zeros(len(rects))])
    return np.hypot(dx, dy)


def _free(rects: np.ndarray, taken: np.ndarray, gap: int) -> np.ndarray:
    """Which candidate rects keep ``gap`` px clear of every taken rect."""
    if not len(taken):
        return np.ones(len(rects), bool)
    c, t = rects[:, None, :], taken[None, :, :]
    apart = ((c[..., 0] + c[..., 2] + gap <= t[..., 0]) | (t[..., 0] + t[..., 2] + gap <= c[..., 0])
             | (c[..., 1] + c[..., 3] + gap <= t[..., 1])
             | (t[..., 1] + t[..., 3] + gap <= c[..., 1]))
    return apart.all(axis=1)


def _hides(rects: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Whether each rect covers at least half of one of the ``others`` boxes (x1, y1, x2,
    y2): a label there would hide a whole object."""
    if not len(others):
        return np.zeros(len(rects), bool)
    c, o = rects[:, None, :].astype(float), others[None, :, :]
    w = np.minimum(c[..., 0] + c[..., 2], o[..., 2]) - np.maximum(c[..., 0], o[..., 0])
    h = np.minimum(c[..., 1] + c[..., 3], o[..., 3]) - np.maximum(c[..., 1], o[..., 1])
    covered = np.clip(w, 0, None) * np.clip(h, 0, None)
    return (covered >= 0.5 * (o[..., 2] - o[..., 0]) * (o[..., 3] - o[..., 1])).any(axis=1)


def _best_rect(box: Box, size: tuple[int, int], frame: tuple[int, int],
               taken: list[Rect], others: np.ndarray, style: FrameStyle) -> Rect | None:
    """The free place nearest ``box`` that hides no other box (``others``) if there is
    one: first the four places right at the box (in order), then any shifted place by
    distance; None when none lies within the leader limit."""
    (label_w, label_h), (height, width) = size, frame
    home = min(max(math.floor(box[0]), 0), width - label_w)
    xs = {home, min(max(math.ceil(box[2]) - label_w, 0), width - label_w)}
    for x, _, w, _ in taken:
        xs.update((x + w + style.gap, x - label_w - style.gap))
    xs = sorted(x for x in xs if 0 <= x <= width - label_w)
    candidates = [(x, top, pref) for top, pref in _rows(box, label_h, style.gap)
                  if 0 <= top <= height - label_h for x in xs]
    if not candidates:
        return None
    table = np.array(candidates, dtype=np.int64)
    rects = np.column_stack([table[:, 0], table[:, 1], np.full(len(table), label_w),
                             np.full(len(table), label_h)])
    distance = _distance(rects, box)
    exact = (table[:, 0] == home) & (table[:, 2] < 4)
    usable = _free(rects, np.array(taken, dtype=np.int64).reshape(-1, 4), style.gap)
    usable &= distance <= MAX_LEADER_HEIGHTS * label_h
    if not usable.any():
        return None
    # Sort keys, last is primary: places that hide no other object, exact places first,
    # then nearest, row preference, shift.
    order = np.lexsort((np.abs(table[:, 0] - home), table[:, 2], distance, ~exact,
                        _hides(rects, others)))
    best = order[usable[order]][0]
    return tuple(int(v) for v in rects[best])


def _leader(rect: Rect, box: Box, gap: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The shortest segment from ``rect`` to ``box``, or None when they (nearly) touch."""
    x, y, w, h = rect
    ends = []
    for low, high, b_low, b_high in ((x, x + w, box[0], box[2]), (y, y + h, box[1], box[3])):
        if high <= b_low:
            ends.append((high - 1, b_low))
        elif b_high <= low:
            ends.append((low, b_high - 1))
        else:  # overlapping spans: meet in the middle of the overlap
            middle = (max(low, b_low) + min(high, b_high)) / 2
            ends.append((middle, middle))
    (lx, bx), (ly, by) = ends
    if math.hypot(lx - bx, ly - by) <= gap + 1:
        return None
    return (round(lx), round(ly)), (round(bx), round(by))


def _note_text(hidden: int, width: int, style: FrameStyle) -> str | None:
    """The corner note in the longest form that fits the frame, or None."""
    for text in (f"{hidden} label{'' if hidden == 1 else 's'} hidden", f"+{hidden} hidden"):
        if label_size(text, style)[0] <= width:
            return text
    return None


def _place(labels: Sequence[Label], frame: tuple[int, int], style: FrameStyle,
           reserved: Sequence[Rect]) -> tuple[list[PlacedLabel], int]:
    height, width = frame
    visible = [(label, box) for label in labels
               if (box := _clipped(label.box, height, width)) is not None]
    # Nearer (bigger) objects first; ties keep the input order (sorted is stable).
    visible.sort(key=lambda item: -(item[1][2] - item[1][0]) * (item[1][3] - item[1][1]))
    boxes = np.array([box for _, box in visible], dtype=float).reshape(-1, 4)
    taken, placed, hidden = list(reserved), [], 0
    for index, (label, box) in enumerate(visible):
        size = label_size(label.text, style)
        rect = None
        if size[0] <= width and size[1] <= height:
            others = np.delete(boxes, index, axis=0)
            rect = _best_rect(box, size, frame, taken, others, style)
        if rect is None:
            hidden += 1
            continue
        taken.append(rect)
        placed.append(PlacedLabel(label, rect, _leader(rect, box, style.gap)))
    return placed, hidden


def layout_labels(labels: Sequence[Label], height: int, width: int,
                  style: FrameStyle | None = None) -> LabelLayout:
    """Where each label goes on a ``height`` × ``width`` frame (see the module text).
    Labels of boxes wholly outside the frame are left out and not counted as hidden."""
    style = frame_style(height, width) if style is None else style
    placed, hidden = _place(labels, (height, width), style, ())
    if not hidden:
        return LabelLayout(tuple(placed), 0, None)
    # Room for the note in the bottom-left corner, sized for the largest count it can
    # show, then lay out again around it.
    widest = _note_text(len(labels), width, style)
    if widest is None:
        return LabelLayout(tuple(placed), hidden, None)
    note_w, note_h = label_size(widest, style)
    corner = (0, max(height - note_h, 0), note_w, min(note_h, height))
    placed, hidden = _place(labels, (height, width), style, (corner,))
    text = _note_text(hidden, width, style) if hidden else None
    note = None if text is None else (text, corner)
    return LabelLayout(tuple(placed), hidden, note)


def _line(image: np.ndarray, ends: tuple[tuple[int, int], tuple[int, int]],
          colour: BGR) -> None:
    cv2.line(image, ends[0], ends[1], OUTLINE, 3, cv2.LINE_8)
    cv2.line(image, ends[0], ends[1], colour, 1, cv2.LINE_8)


def draw_labels(image: np.ndarray, labels: Sequence[Label],
                style: FrameStyle | None = None) -> LabelLayout:
    """Lay out ``labels`` (see :func:`layout_labels`) and draw them on ``image`` in place:
    leader lines first, then the labels over them, then the note of hidden labels."""
    height, width = image.shape[:2]
    style = frame_style(height, width) if style is None else style
    layout = layout_labels(labels, height, width, style)
    for placed in layout.placed:
        if placed.leader is not None:
            _line(image, placed.leader, placed.label.colour)
    for placed in layout.placed:
        draw_text_box(image, placed.label.text, placed.rect[:2], placed.label.colour,
                      style.font_scale, style.text_thickness, style.pad)
    if layout.note is not None:
        text, rect = layout.note
        draw_text_box(image, text, rect[:2], NOTE_BACKGROUND, style.font_scale,
                      style.text_thickness, style.pad)
    return layout
