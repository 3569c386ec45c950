"""Text badges, the caption bar under a drawing, and side-by-side panels.

OpenCV's Hershey fonts are ASCII only, so captions spell σ, ε, α, τ as sigma, eps, alpha, tau,
≥ as >= and ✗ as X.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from adcert.stats._rounding import format_down, format_up
from adcert.vis.palette import (
    ABSTAIN_BASE,
    ABSTAIN_STRIPE,
    BGR,
    CAPTION_BACKGROUND,
    CAPTION_TEXT,
    NodeHatch,
    hatch_mask,
    node_base,
    node_hatch_mask,
    text_colour_on,
)

FONT = cv2.FONT_HERSHEY_SIMPLEX
GUARANTEE_LINE = "certificates hold for the smoothed model"
# A legend entry: its colour (None: the abstain hatch; a NodeHatch: a node certified above
# the fine level, hatched in its colour) and its text.
Swatch = tuple[BGR | NodeHatch | None, str]


_ROUNDINGS = {"nearest": lambda value: f"{value:.4g}", "down": format_down, "up": format_up}

_ASCII_SPELLINGS = {"±": "+/-", "σ": "sigma", "ε": "eps", "α": "alpha", "τ": "tau",
                    "≤": "<=", "≥": ">=", "ℓ": "l", "−": "-", "–": "-", "…": "...",
                    "✗": "X"}


def ascii_text(text: str) -> str:
    """``text`` in the ASCII the Hershey fonts can draw (accents dropped, others '?')."""
    for symbol, spelling in _ASCII_SPELLINGS.items():
        text = text.replace(symbol, spelling)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).encode(
        "ascii", "replace").decode("ascii")


def certified_range_line(record: Mapping) -> list[str]:
    """A caption line with the record's ``certified_range`` text (camera-effect
    certificates state it in the effect's own units), or none when absent."""
    certified_range = record.get("certified_range")
    if isinstance(certified_range, Mapping) and certified_range.get("text"):
        return [f"certified range: {certified_range['text']}"]
    return []


def font_for_width(width: int) -> tuple[float, int]:
    """Font scale and stroke thickness that stay legible from 128 px to 2048 px frames."""
    scale = min(max(width / 1600.0, 0.4), 1.0)
    return scale, 1 if scale < 0.8 else 2


def text_size(text: str, scale: float, thickness: int) -> tuple[int, int, int]:
    """Width, height above the baseline and depth below it, in pixels."""
    (width, height), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    return width, height, baseline


def text_box_rect(image_shape: tuple[int, ...], text: str, origin: tuple[float, float],
                  scale: float, thickness: int, pad: int = 2) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the box :func:`draw_text_box` fills for ``text`` at ``origin``:
    moved inside the image where it would stick out."""
    width, height, depth = text_size(ascii_text(text), scale, thickness)
    box_w, box_h = width + 2 * pad, height + depth + 2 * pad
    img_h, img_w = image_shape[:2]
    x = int(min(max(math.floor(origin[0]), 0), max(img_w - box_w, 0)))
    y = int(min(max(math.floor(origin[1]), 0), max(img_h - box_h, 0)))
    return x, y, box_w, box_h


def draw_text_box(image: np.ndarray, text: str, origin: tuple[float, float], background: BGR,
                  scale: float, thickness: int, pad: int = 2) -> tuple[int, int, int, int]:
    """Draw ``text`` on a filled ``background`` box whose top-left corner is ``origin``,
    moved inside the image where it would stick out (in place); returns the box."""
    x, y, box_w, box_h = text_box_rect(image.shape, text, origin, scale, thickness, pad)
    text = ascii_text(text)
    _, height, _ = text_size(text, scale, thickness)
    cv2.rectangle(image, (x, y), (x + box_w - 1, y + box_h - 1), background, cv2.FILLED)
    cv2.putText(image, text, (x + pad, y + pad + height), FONT, scale,
                text_colour_on(background), thickness, cv2.LINE_AA)
    return x, y, box_w, box_h


def _shorten(text: str, max_width: int, scale: float, thickness: int) -> str:
    """``text`` cut short with "..." where it is wider than ``max_width`` (a single word
    wider than a narrow frame), so that no caption runs off the bar."""
    if text_size(text, scale, thickness)[0] <= max_width:
        return text
    for end in range(len(text) - 1, 0, -1):
        if text_size(text[:end] + "...", scale, thickness)[0] <= max_width:
            return text[:end] + "..."
    return ""


def _wrap(line: str, max_width: int, scale: float, thickness: int) -> list[str]:
    """Greedy wrap at double spaces (between fields), then at single spaces; a word
    wider than the bar is shortened."""
    fields = [f for f in line.split("  ") if f]
    pieces: list[str] = []
    for field in fields:
        if text_size(field, scale, thickness)[0] <= max_width:
            pieces.append(field)
        else:
            pieces.extend(_shorten(word, max_width, scale, thickness)
                          for word in field.split(" "))
    lines: list[str] = []
    for piece in pieces:
        candidate = f"{lines[-1]}  {piece}" if lines else piece
        if lines and text_size(candidate, scale, thickness)[0] <= max_width:
            lines[-1] = candidate
        else:
            lines.append(piece)
    return lines or [""]


def _hatch_tile(size: int) -> np.ndarray:
    tile = np.empty((size, size, 3), np.uint8)
    tile[:] = ABSTAIN_BASE
    tile[hatch_mask(size, size, max(4, size // 3), max(2, size // 8))] = ABSTAIN_STRIPE
    return tile


def _node_tile(size: int, hatch: NodeHatch) -> np.ndarray:
    tile = np.empty((size, size, 3), np.uint8)
    tile[:] = node_base(hatch.colour)
    tile[node_hatch_mask(size, size, max(4, size // 3), hatch.level)] = hatch.colour
    return tile


def caption_bar(width: int, lines: Sequence[str], swatches: Sequence[Swatch] = ()) -> np.ndarray:
    """A dark bar ``width`` px wide: the text ``lines`` (wrapped to fit), then a row of colour
    swatches with their names (a None colour is drawn as the abstain hatch, a
    :class:`~adcert.vis.palette.NodeHatch` as that node's hatch)."""
    scale, thickness = font_for_width(width)
    _, line_h, depth = text_size("Ag", scale, thickness)
    step, margin = line_h + depth + 4, 6
    wrapped = [w for line in lines
               for w in _wrap(ascii_text(line), width - 2 * margin, scale, thickness)]
    swatches = [(colour, ascii_text(name)) for colour, name in swatches]

    # Lay the swatches out first to know how many rows they need.
    box = line_h + depth
    placed, x, row = [], margin, 0
    for colour, name in swatches:
        name = _shorten(name, width - 2 * margin - box - 4, scale, thickness)
        item_w = box + 4 + text_size(name, scale, thickness)[0] + 12
        if x > margin and x + item_w > width - margin:
            x, row = margin, row + 1
        placed.append((x, row, colour, name))
        x += item_w
    rows = row + 1 if placed else 0

    bar = np.empty((margin * 2 + step * (len(wrapped) + rows), width, 3), np.uint8)
    bar[:] = CAPTION_BACKGROUND
    for i, text in enumerate(wrapped):
        baseline = margin + i * step + line_h
        cv2.putText(bar, text, (margin, baseline), FONT, scale, CAPTION_TEXT, thickness,
                    cv2.LINE_AA)
    top = margin + len(wrapped) * step
    for x, row, colour, name in placed:
        y = top + row * step
        if x + box > width:
            continue  # a swatch wider than a narrow frame: its name still says enough
        if colour is None:
            bar[y:y + box, x:x + box] = _hatch_tile(box)
        elif isinstance(colour, NodeHatch):
            bar[y:y + box, x:x + box] = _node_tile(box, colour)
        else:
            cv2.rectangle(bar, (x, y), (x + box - 1, y + box - 1), colour, cv2.FILLED)
        cv2.putText(bar, name, (x + box + 4, y + line_h), FONT, scale, CAPTION_TEXT,
                    thickness, cv2.LINE_AA)
    return bar


def add_caption(image: np.ndarray, lines: Sequence[str],
                swatches: Sequence[Swatch] = ()) -> np.ndarray:
    """``image`` with a caption bar (text lines and legend swatches) added below it."""
    return np.vstack([image, caption_bar(image.shape[1], lines, swatches)])


def format_value(value: object, rounding: str = "nearest") -> str:
    """Record values for captions: None as '-', floats with 4 significant digits.

    ``rounding`` says which way a float may move: "nearest" for settings echoed back
    (sigma, tau, alpha, n, as the user gave them), "down" for certified quantities where
    smaller is safe (a radius, the upper end of a certified range, a lower bound), "up"
    where larger is safe (the lower end of a certified range, an upper bound, an error
    level). "down" and "up" are exact (docs/certificates.md §6): the printed number never
    claims a larger certified set than the float does.
    """
    if rounding not in _ROUNDINGS:
        raise ValueError(f"rounding must be one of {sorted(_ROUNDINGS)}, got {rounding!r}")
    if value is None:
        return "-"
    if isinstance(value, float):
        return _ROUNDINGS[rounding](value)
    return str(value)


def side_by_side(left: np.ndarray, right: np.ndarray,
                 titles: tuple[str, str] = ("clean", "certified")) -> np.ndarray:
    """Two drawings next to each other, each under its title; the shorter one is padded
    at the bottom so both keep their pixels 1:1. Used for clean-model vs certified
    smoothed-model views (certificates hold for the smoothed model only)."""
    left, right = as_bgr_image(left), as_bgr_image(right)
    height = max(left.shape[0], right.shape[0])
    columns = []
    for image, title in zip((left, right), titles, strict=True):
        padded = np.empty((height, image.shape[1], 3), np.uint8)
        padded[:] = CAPTION_BACKGROUND
        padded[:image.shape[0]] = image
        columns.append(np.vstack([caption_bar(image.shape[1], [title]), padded]))
    # Title bars wrap differently on different widths; even them out too.
    height = max(c.shape[0] for c in columns)
    columns = [np.vstack([c, np.full((height - c.shape[0], c.shape[1], 3), CAPTION_BACKGROUND,
                                     np.uint8)]) for c in columns]
    separator = np.full((height, 4, 3), 255, np.uint8)
    return np.hstack([columns[0], separator, columns[1]])


def as_bgr_image(image: np.ndarray) -> np.ndarray:
    """``image`` as 3-channel uint8 BGR (grey and BGRA converted, BGR returned as is)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")
