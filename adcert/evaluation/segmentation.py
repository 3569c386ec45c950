"""Certified segmentation metrics: accuracy, mIoU and abstain rate (SegCertify's table).

A certified map holds a class or ``ABSTAIN_PIXEL`` (255) per pixel. Two readings:
- "certified": abstentions count as wrong (they match no ground-truth class);
- "on certified pixels": only non-abstaining pixels are scored, as SegCertify also
  reports.
Ground-truth pixels equal to ``ignore_index`` are left out of everything.
"""

from __future__ import annotations

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from adcert.certify.segmentation import ABSTAIN_PIXEL


def area_counts(pred: np.ndarray, gt: np.ndarray, num_classes: int,
                ignore_index: int = 255) -> dict[str, np.ndarray]:
    """Per-class intersection, predicted and ground-truth pixel counts over valid gt.

    Predictions outside [0, num_classes) (abstentions) count towards no class, so they
    lower recall and IoU of the ground-truth class they cover.
    """
    valid = gt != ignore_index
    pred, gt = pred[valid].astype(np.int64), gt[valid].astype(np.int64)
    in_range = (pred >= 0) & (pred < num_classes)
    hit = in_range & (pred == gt)
    return {
        "intersect": np.bincount(gt[hit], minlength=num_classes)[:num_classes],
        "pred_area": np.bincount(pred[in_range], minlength=num_classes)[:num_classes],
        "gt_area": np.bincount(gt, minlength=num_classes)[:num_classes],
    }


def _miou(counts: dict[str, np.ndarray]) -> tuple[float, np.ndarray]:
    union = counts["pred_area"] + counts["gt_area"] - counts["intersect"]
    present = counts["gt_area"] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = counts["intersect"] / union
    return float(np.nanmean(iou[present])) if present.any() else float("nan"), iou


@METRICS.register_module()
class CertifiedSegMetric(BaseMetric):
    """Clean and certified pixel accuracy, mIoU, and abstain rate, summed over frames.

    ``process`` takes data samples as dicts with ``gt`` (H, W), ``certified`` (H, W, 255 =
    abstain) and optionally ``clean`` (H, W) maps; the figures describe the smoothed
    segmenter's certificates at the run's σ, τ, n, α.
    """

    default_prefix = "cert"

    def __init__(self, num_classes: int, ignore_index: int = 255, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            gt, certified = np.asarray(sample["gt"]), np.asarray(sample["certified"])
            valid = gt != self.ignore_index
            kept = valid & (certified != ABSTAIN_PIXEL)
            record = {
                "pixels": int(valid.sum()),
                "abstained": int((valid & ~kept).sum()),
                "certified": area_counts(certified, gt, self.num_classes, self.ignore_index),
                "on_certified": area_counts(certified[kept], gt[kept], self.num_classes,
                                            self.ignore_index),
            }
            if sample.get("clean") is not None:
                record["clean"] = area_counts(np.asarray(sample["clean"]), gt,
                                              self.num_classes, self.ignore_index)
            self.results.append(record)

    def compute_metrics(self, results: list) -> dict:
        pixels = sum(r["pixels"] for r in results)
        metrics = {"abstain_rate": sum(r["abstained"] for r in results) / max(pixels, 1)}
        for name in ("certified", "on_certified", "clean"):
            if not all(name in r for r in results):
                continue
            total = {k: sum(r[name][k] for r in results) for k in results[0][name]}
            scored = total["gt_area"].sum()
            # No scored pixel (all abstained) has no accuracy, rather than accuracy 0.
            metrics[f"{name}_acc"] = float(total["intersect"].sum() / scored) if scored else None
            metrics[f"{name}_miou"], iou = _miou(total)
            metrics[f"{name}_iou_per_class"] = [None if np.isnan(v) else float(v) for v in iou]
        return metrics
