"""AP@50 of the base detector, of the smoothed (median) detector, and certified AP@50.

Certified AP@50 (CERTIFICATION_MATH.md §3): a smoothed box is a certified true positive
when its label is certified and its worst IoU with the ground truth over the 16 corner
boxes of its bounds is ≥ 0.5. All three use the same greedy matching by score and COCO's
101-point interpolated precision, so they can be compared with each other.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from adcert.certify.detection import worst_case_iou

IOU_THRESHOLD = 0.5


def box_iou(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(P, G) IoU of x1, y1, x2, y2 boxes."""
    x1 = np.maximum(boxes[:, None, 0], gt[None, :, 0])
    y1 = np.maximum(boxes[:, None, 1], gt[None, :, 1])
    x2 = np.minimum(boxes[:, None, 2], gt[None, :, 2])
    y2 = np.minimum(boxes[:, None, 3], gt[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    union = area(boxes)[:, None] + area(gt)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match(scores: np.ndarray, labels: np.ndarray, overlap: np.ndarray,
          gt_labels: np.ndarray) -> dict[int, list[tuple[float, bool]]]:
    """Greedy matching by descending score: each prediction takes the unmatched ground
    truth of its label with the largest overlap ≥ 0.5. Returns per label (score, is_tp)."""
    taken = np.zeros(len(gt_labels), dtype=bool)
    out: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for p in np.argsort(-scores, kind="stable"):
        candidates = (gt_labels == labels[p]) & ~taken & (overlap[p] >= IOU_THRESHOLD)
        hit = bool(candidates.any())
        if hit:
            taken[np.flatnonzero(candidates)[np.argmax(overlap[p][candidates])]] = True
        out[int(labels[p])].append((float(scores[p]), hit))
    return out


def average_precision(scored: list[tuple[float, bool]], num_gt: int) -> float:
    """COCO's 101-point interpolated AP of (score, is_tp) pairs against num_gt truths."""
    if num_gt == 0:
        return float("nan")
    if not scored:
        return 0.0
    order = np.argsort([-s for s, _ in scored], kind="stable")
    tp = np.array([scored[i][1] for i in order], dtype=float)
    recall = np.cumsum(tp) / num_gt
    precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone envelope
    points = np.linspace(0, 1, 101)
    at = np.searchsorted(recall, points, side="left")  # first rank reaching each recall
    reached = at < len(precision)
    return float(np.sum(precision[at[reached]]) / len(points))


def frame_matches(sample: dict) -> dict:
    """Per-frame matches for the three readings; ``sample`` holds ``gt_boxes`` (G, 4),
    ``gt_labels`` (G,), ``clean`` (k, 6) and ``smoothed`` (list of box records)."""
    gt_boxes = np.asarray(sample["gt_boxes"], dtype=float).reshape(-1, 4)
    gt_labels = np.asarray(sample["gt_labels"], dtype=int).reshape(-1)
    clean = np.asarray(sample["clean"], dtype=float).reshape(-1, 6)
    boxes = sample["smoothed"]
    smoothed = np.array([b["bbox"] for b in boxes], dtype=float).reshape(-1, 4)
    scores = np.array([b["score"] for b in boxes], dtype=float)
    labels = np.array([b["label"] for b in boxes], dtype=int)
    worst = np.array([[worst_case_iou(_bounds(b["lower"], -np.inf), _bounds(b["upper"], np.inf),
                                      g) if b["label_certified"] else 0.0 for g in gt_boxes]
                      for b in boxes]).reshape(len(boxes), len(gt_boxes))
    return {
        "num_gt": dict(zip(*np.unique(gt_labels, return_counts=True), strict=True)),
        "clean": match(clean[:, 4], clean[:, 5].astype(int), box_iou(clean[:, :4], gt_boxes),
                       gt_labels),
        "smoothed": match(scores, labels, box_iou(smoothed, gt_boxes), gt_labels),
        "certified": match(scores, labels, worst, gt_labels),
        "boxes": len(boxes),
        "may_vanish": int(sum(b["may_vanish"] for b in boxes)),
        "label_uncertified": int(sum(not b["label_certified"] for b in boxes)),
    }


def _bounds(values, infinity: float) -> np.ndarray:
    return np.array([infinity if v is None else v for v in values], dtype=float)


@METRICS.register_module()
class CertifiedDetMetric(BaseMetric):
    """Clean / smoothed / certified AP@50 per class and their mean, certified recall,
    and the rates of boxes that may vanish or whose label may change."""

    default_prefix = "cert"

    def __init__(self, classes: list[str] | tuple[str, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self.classes = list(classes)

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(frame_matches(sample) for sample in data_samples)

    def compute_metrics(self, results: list) -> dict:
        num_gt: dict[int, int] = defaultdict(int)
        for r in results:
            for label, count in r["num_gt"].items():
                num_gt[int(label)] += int(count)
        metrics: dict = {}
        for reading in ("clean", "smoothed", "certified"):
            per_class = {}
            for label, name in enumerate(self.classes):
                scored = [pair for r in results for pair in r[reading].get(label, [])]
                per_class[name] = average_precision(scored, num_gt.get(label, 0))
            valid = [v for v in per_class.values() if not np.isnan(v)]
            metrics[f"{reading}_ap50"] = float(np.mean(valid)) if valid else None
            metrics[f"{reading}_ap50_per_class"] = {
                k: None if np.isnan(v) else v for k, v in per_class.items()}
        total_gt = sum(num_gt.values())
        certified_tp = sum(hit for r in results for pairs in r["certified"].values()
                           for _, hit in pairs)
        boxes = sum(r["boxes"] for r in results)
        metrics["certified_recall"] = certified_tp / total_gt if total_gt else None
        for key, field in (("may_vanish_rate", "may_vanish"),
                           ("label_changeable_rate", "label_uncertified")):
            metrics[key] = sum(r[field] for r in results) / boxes if boxes else None
        return metrics
