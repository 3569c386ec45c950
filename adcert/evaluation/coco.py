"""AP@50 as mmdet's ``CocoMetric`` computes it: pycocotools' ``COCOeval`` on in-memory
annotations (crowd / ignored regions, maxDets 100, 101-point interpolation)."""

from __future__ import annotations

import contextlib
import io

import numpy as np


def _xywh(box) -> list[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return [x1, y1, x2 - x1, y2 - y1]


def coco_ap50(frames: list[dict], labels: list[int]) -> dict[int, float]:
    """Per-label AP at IoU 0.5 (all areas, 100 detections per image and class) by pycocotools.

    Each frame holds ``gt_boxes`` (G, 4), ``gt_labels`` (G,), optional ``ignored_boxes``
    (K, 4) / ``ignored_labels`` (K,) (crowd regions: a detection on one is neither true
    nor false) and ``detections`` (k, 6: x1, y1, x2, y2, score, label). A label without
    ground truth gets NaN, as COCO leaves it out of the mean.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, detections = [], [], []
    for image_id, frame in enumerate(frames):
        images.append({"id": image_id})
        truths = [(b, lab, 0) for b, lab in zip(frame["gt_boxes"], frame["gt_labels"],
                                                strict=True)]
        truths += [(b, lab, 1) for b, lab in zip(frame.get("ignored_boxes", []),
                                                 frame.get("ignored_labels", []), strict=True)]
        for box, label, crowd in truths:
            xywh = _xywh(box)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": int(label), "bbox": xywh,
                                "area": xywh[2] * xywh[3], "iscrowd": crowd})
        for row in np.asarray(frame["detections"], dtype=float).reshape(-1, 6):
            detections.append({"image_id": image_id, "category_id": int(row[5]),
                               "bbox": _xywh(row[:4]), "score": float(row[4])})
    has_gt = {a["category_id"] for a in annotations if not a["iscrowd"]}
    out = {label: float("nan") for label in labels}
    if not detections:
        return {label: (0.0 if label in has_gt else float("nan")) for label in labels}
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations,
                         "categories": [{"id": int(label)} for label in labels]}
        truth.createIndex()
        evaluator = COCOeval(truth, truth.loadRes(detections), "bbox")
        evaluator.params.catIds = [int(label) for label in labels]
        evaluator.evaluate()
        evaluator.accumulate()
    # precision[T, R, K, A, M]: IoU 0.5 is T = 0, area "all" A = 0, maxDets 100 M = 2.
    precision = evaluator.eval["precision"][0, :, :, 0, 2]
    for k, label in enumerate(labels):
        column = precision[:, k]
        if label in has_gt and np.any(column > -1):
            out[label] = float(np.mean(column[column > -1]))
    return out
