"""The report's gallery: the worst frames of each run, drawn by :mod:`adcert.vis`.

Worst means, for detection, most boxes that may vanish and most certified-but-wrong
boxes (a certain box that meets no ground truth of its label at IoU ≥ 0.5); for
segmentation, most abstention and most certified-but-wrong pixels. Ground truth is drawn
too: white boxes, or a ground-truth panel beside the certified map. A run with a class
hierarchy (docs/certificates.md §9) is drawn with its node map: classes solid, coarser
nodes hatched in colour, abstentions grey, and black where the certified node does not
hold the true class.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from adcert.report.figures import certified_wrong_boxes
from adcert.report.runs import Run

WRONG_COLOUR = (0, 0, 0)  # black: no class of the demo or Cityscapes palettes uses it
TRUTH_COLOUR = (255, 255, 255)
MAX_WIDTH = 960  # drawings are scaled down to this width to keep the page light


@dataclass
class Pick:
    run: Run
    record: dict
    why: str


def _top(records: list[dict], score, per_criterion: int) -> list[tuple[dict, float]]:
    scored = [(r, score(r)) for r in records]
    scored = [(r, s) for r, s in scored if s is not None and s > 0]
    scored.sort(key=lambda item: -item[1])
    return scored[:per_criterion]


def pick_frames(run: Run, per_criterion: int = 1) -> list[Pick]:
    """The run's worst frames, each once, with the reason it was picked."""
    if not run.usable or not run.records:
        return []
    if run.task == "detection":
        criteria = [
            ("boxes that may vanish", lambda r: sum(bool(b.get("may_vanish"))
                                                    for b in r.get("boxes", []))),
            ("certified-but-wrong boxes", lambda r: (None if (w := certified_wrong_boxes(r))
                                                     is None else len(w))),
        ]
    else:
        criteria = [
            ("abstained pixels", lambda r: r.get("abstain_rate")),
            ("certified-but-wrong pixels", lambda r: r.get("certified_wrong_rate")),
        ]
    picks: list[Pick] = []
    for what, score in criteria:
        for record, value in _top(run.records, score, per_criterion):
            shown = f"{value:.1%}" if isinstance(value, float) else f"{value:d}"
            why = f"most {what} in {run.label}: {shown}"
            same = next((p for p in picks if p.record is record), None)
            if same is None:
                picks.append(Pick(run, record, why))
            else:
                same.why += f"; {why}"
    return picks


def _scale(image: np.ndarray) -> np.ndarray:
    if image.shape[1] <= MAX_WIDTH:
        return image
    height = round(image.shape[0] * MAX_WIDTH / image.shape[1])
    return cv2.resize(image, (MAX_WIDTH, height), interpolation=cv2.INTER_AREA)


def _resize(image: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """``image`` scaled to ``width`` px (aspect kept) and the factor used; drawing after
    this sizes text and lines for the page (adcert.vis scales them to the frame)."""
    factor = width / image.shape[1]
    if factor == 1.0:
        return image, 1.0
    size = (width, max(1, round(image.shape[0] * factor)))
    method = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=method), factor


def _draw_truth_boxes(image: np.ndarray, record: dict) -> None:
    truth = record.get("ground_truth") or {}
    for box in truth.get("boxes") or []:
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(image, (x1, y1), (x2, y2), TRUTH_COLOUR, 1, cv2.LINE_AA)


def _scaled(values, scale: float):
    return None if values is None else [None if v is None else v * scale for v in values]


def scaled_record(record: dict, scale: float) -> dict:
    """The record with every box coordinate multiplied by ``scale`` (to draw the frame at
    the page's width, so that labels are sized for the page)."""
    boxes = [{**b, **{k: _scaled(b.get(k), scale) for k in ("bbox", "lower", "upper")}}
             for b in record.get("boxes", [])]
    truth = record.get("ground_truth")
    if truth is not None:
        truth = {**truth, **{k: [_scaled(b, scale) for b in truth.get(k) or []]
                             for k in ("boxes", "ignored_boxes")}}
    return {**record, "boxes": boxes, "ground_truth": truth}


def draw_detection(run: Run, record: dict, image: np.ndarray) -> np.ndarray:
    """Certified boxes, ground truth (white) and certified-but-wrong boxes (black frame),
    drawn on the frame scaled to :data:`MAX_WIDTH`, so that labels read on the page
    whether the frame was 512 or 2048 px wide."""
    from adcert.vis.boxes import draw_certified_boxes, line_thickness
    from adcert.vis.palette import palette_from_meta

    image, factor = _resize(image, MAX_WIDTH)
    if factor != 1.0:
        record = scaled_record(record, factor)
    palette = palette_from_meta(run.summary.get("palette"), run.classes)
    out = image.copy()
    _draw_truth_boxes(out, record)
    # Before the certified boxes, whose labels are drawn last and so never crossed.
    margin = line_thickness(out) + 2
    for index in certified_wrong_boxes(record) or []:
        x1, y1, x2, y2 = (int(round(v)) for v in record["boxes"][index]["bbox"])
        cv2.rectangle(out, (x1 - margin, y1 - margin), (x2 + margin, y2 + margin),
                      WRONG_COLOUR, margin, cv2.LINE_AA)
    return draw_certified_boxes(out, record, run.classes, palette)


def draw_segmentation(run: Run, record: dict, image: np.ndarray) -> np.ndarray:
    """The certified map (black: certified but wrong) beside the ground truth, each panel
    scaled to half the page width before its title is drawn, so titles read on the page."""
    from adcert.vis.caption import side_by_side
    from adcert.vis.masks import load_label_map, overlay_labels
    from adcert.vis.palette import palette_from_meta

    palette = palette_from_meta(run.summary.get("palette"), run.classes) or ()
    draw, wrong_of, title = _segmentation_drawer(run, record, palette)
    gt_path = record.get("gt_mask_path")
    if not gt_path or not os.path.isfile(os.path.join(run.path, gt_path)):
        return draw(image)
    truth = load_label_map(os.path.join(run.path, gt_path))
    certified = draw(image)
    certified[wrong_of(truth)] = WRONG_COLOUR
    half = (MAX_WIDTH - 4) // 2  # side_by_side puts a 4 px separator between the panels
    truth_panel = _resize(overlay_labels(image, truth, palette), half)[0]
    return side_by_side(truth_panel, _resize(certified, half)[0],
                        ("ground truth", title))


def _segmentation_drawer(run: Run, record: dict, palette):
    """(draw the certified map over a frame, certified-but-wrong pixels given the truth,
    the panel's title): the node map with the run's hierarchy where the record has one,
    else the class map."""
    from adcert.vis.masks import load_label_map, overlay_labels

    tree = run.summary.get("hierarchy")
    if record.get("nodes_mask_path") and isinstance(tree, dict):
        from adcert.vis.nodes import node_misses_truth, overlay_nodes, resolve_hierarchy

        hierarchy = resolve_hierarchy(tree, run.classes)
        nodes = load_label_map(os.path.join(run.path, record["nodes_mask_path"]))
        return (lambda image: overlay_nodes(image, nodes, hierarchy, palette),
                lambda truth: node_misses_truth(nodes, truth, hierarchy),
                "certified nodes (hatched: coarser node; black: certified but wrong)")
    labels = load_label_map(os.path.join(run.path, record["mask_path"]))
    return (lambda image: overlay_labels(image, labels, palette),
            lambda truth: (labels != 255) & (truth != 255) & (labels != truth),
            "certified map (black: certified but wrong)")


def draw_pick(pick: Pick) -> bytes | None:
    """The picked frame drawn as JPEG bytes, or None when its image cannot be found."""
    from adcert.vis.render import find_frame
    from adcert.vis.video import read_frame

    try:
        image = read_frame(find_frame(pick.record, None, pick.run.path))
        drawn = (draw_detection if pick.run.task == "detection" else draw_segmentation)(
            pick.run, pick.record, image)
    except (OSError, ValueError, KeyError):
        return None
    # JPEG at high quality: a page of photos as PNG weighs several MB.
    ok, jpeg = cv2.imencode(".jpg", _scale(drawn), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return jpeg.tobytes() if ok else None


def gallery(picks: Sequence[Pick]) -> list[tuple[Pick, bytes | None]]:
    """The picked frames with their drawings (None where the frame is missing)."""
    return [(pick, draw_pick(pick)) for pick in picks]

