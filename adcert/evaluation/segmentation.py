"""Certified segmentation metrics: accuracy, mIoU and abstain rate (SegCertify's table),
counted and averaged as mmseg's ``IoUMetric`` does; per-class IoU keyed by class name.

A certified map holds a class or ``ABSTAIN_PIXEL`` (255) per pixel. Two readings:
- "certified": lower bounds on what the smoothed segmenter scores under any attack in the
  certified range (``docs/certificates.md`` §4). Accuracy counts abstentions as wrong;
  IoU and mIoU let every abstained pixel take whichever class hurts most, a class absent
  from the ground truth included (:mod:`adcert.evaluation.certified_miou`);
- "on certified pixels": only non-abstaining pixels are scored, as SegCertify also
  reports (measured, not a bound).
The abstain rate is a property of the certificate at the clean frame: the share of valid
pixels it does not certify. Ground-truth pixels equal to ``ignore_index`` are left out of
everything.
"""

from __future__ import annotations

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from adcert.certify.hierarchy import (
    Hierarchy,
    correct_at_level,
    information_gain,
    level_node_map,
)
from adcert.certify.segmentation import ABSTAIN_PIXEL
from adcert.evaluation.certified_miou import certified_miou, worst_case_iou


def area_counts(pred: np.ndarray, gt: np.ndarray, num_classes: int,
                ignore_index: int = 255) -> dict[str, np.ndarray]:
    """Per-class intersection, predicted and ground-truth pixel counts over valid gt, by
    mmseg's ``IoUMetric.intersect_and_union``.

    Predictions outside [0, num_classes) (abstentions) count towards no class, so they
    lower recall and IoU of the ground-truth class they cover.
    """
    import torch
    from mmseg.evaluation.metrics import IoUMetric

    intersect, _, pred_area, gt_area = IoUMetric.intersect_and_union(
        torch.from_numpy(np.asarray(pred, dtype=np.int64)),
        torch.from_numpy(np.asarray(gt, dtype=np.int64)), num_classes, ignore_index)
    as_counts = lambda t: t.numpy().astype(np.int64)  # noqa: E731
    return {"intersect": as_counts(intersect), "pred_area": as_counts(pred_area),
            "gt_area": as_counts(gt_area)}


def _miou(counts: dict[str, np.ndarray]) -> tuple[float, np.ndarray]:
    """mIoU as mmseg's ``IoUMetric`` computes it: the mean of per-class IoU over the
    classes whose union is non-empty (a class predicted but absent from the ground truth
    scores 0)."""
    import torch
    from mmseg.evaluation.metrics import IoUMetric

    union = counts["pred_area"] + counts["gt_area"] - counts["intersect"]
    as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    iou = IoUMetric.total_area_to_metrics(
        as_tensor(counts["intersect"]), as_tensor(union), as_tensor(counts["pred_area"]),
        as_tensor(counts["gt_area"]))["IoU"]
    iou = np.asarray(iou, dtype=float)
    return (float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")), iou


@METRICS.register_module()
class CertifiedSegMetric(BaseMetric):
    """Clean and certified pixel accuracy, mIoU, and abstain rate, summed over frames.

    ``process`` takes data samples as dicts with ``gt`` (H, W), ``certified`` (H, W, 255 =
    abstain) and optionally ``clean`` (H, W) and ``smoothed`` (H, W) maps; the figures
    describe the smoothed segmenter's certificates at the run's σ, τ, n, α.
    ``certified_*`` figures are lower bounds under attack that hold when every frame's
    certificate does (probability ≥ 1 − frames × α); ``on_certified_*``, ``clean_*`` and
    ``smoothed_*`` figures are measured (``smoothed``: each pixel's majority class over the
    n0 selection copies, the estimate of the smoothed segmenter's unattacked output).
    """

    default_prefix = "cert"

    def __init__(self, num_classes: int, ignore_index: int = 255,
                 classes: list[str] | None = None, hierarchy: Hierarchy | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        # With a hierarchy, samples carry ``nodes`` (certified node per pixel, §9) and
        # per-level figures are added; ``abstain_rate`` stays the share without a class.
        self.hierarchy = None if hierarchy is None or hierarchy.is_flat else hierarchy
        self.num_classes = int(num_classes)
        if classes is not None and len(classes) != self.num_classes:
            raise ValueError(f"{len(classes)} class names for {num_classes} classes")
        self.classes = None if classes is None else [str(c) for c in classes]
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
            for name in ("clean", "smoothed"):
                if sample.get(name) is not None:
                    record[name] = area_counts(np.asarray(sample[name]), gt,
                                               self.num_classes, self.ignore_index)
            if self.hierarchy is not None:
                nodes = np.asarray(sample["nodes"])
                record["levels"] = self._level_counts(nodes, gt)
                record["levels"]["root"] = int((valid & (nodes == ABSTAIN_PIXEL)).sum())
            self.results.append(record)

    def _level_counts(self, nodes: np.ndarray, gt: np.ndarray) -> dict:
        """Per level: correct pixels, and the certified and on-certified area counts of the
        node map read at that level (for the worst-case mIoU over its nodes)."""
        h, out = self.hierarchy, {"information": information_gain(
            nodes, gt, self.hierarchy, ABSTAIN_PIXEL, self.ignore_index)}
        valid = gt != self.ignore_index
        for level, name in enumerate(h.level_names):
            mapped = level_node_map(nodes, h, level, ABSTAIN_PIXEL)
            gt_level = np.where(valid, h.class_to_node[level][np.where(valid, gt, 0)],
                                self.ignore_index)
            kept = valid & (mapped != ABSTAIN_PIXEL)
            size = len(h.node_names[level])
            out[name] = {
                "correct": int(correct_at_level(nodes, gt, h, level, ABSTAIN_PIXEL,
                                                self.ignore_index).sum()),
                "certified": area_counts(mapped, gt_level, size, self.ignore_index),
                "on_certified": area_counts(mapped[kept], gt_level[kept], size,
                                            self.ignore_index)}
        return out

    def _level_metrics(self, results: list, pixels: int) -> dict:
        """Certified accuracy and worst-case certified mIoU per level (lower bounds under
        attack on the level's smoothed segmenter, as ``certified_*``), and two properties
        of the certificate at the clean frame: the certified information gain and the
        share of pixels with no certified node (§9)."""
        by_level_acc, by_level_miou = {}, {}
        for name in self.hierarchy.level_names:
            by_level_acc[name] = (sum(r["levels"][name]["correct"] for r in results) / pixels
                                  if pixels else None)
            total = {k: sum(r["levels"][name]["certified"][k] for r in results)
                     for k in results[0]["levels"][name]["certified"]}
            scored = sum(r["levels"][name]["on_certified"]["gt_area"] for r in results)
            union = total["pred_area"] + total["gt_area"] - total["intersect"]
            by_level_miou[name] = certified_miou(total["intersect"], union,
                                                 total["gt_area"] - scored)
        information = sum(r["levels"]["information"] for r in results)
        root = sum(r["levels"]["root"] for r in results)
        return {"certified_acc_by_level": by_level_acc,
                "certified_miou_by_level": by_level_miou,
                "certified_information_gain": information / pixels if pixels else None,
                "node_abstain_rate": root / pixels if pixels else None}

    def compute_metrics(self, results: list) -> dict:
        pixels = sum(r["pixels"] for r in results)
        abstained = sum(r["abstained"] for r in results)
        metrics = {"abstain_rate": abstained / pixels if pixels else None}
        if self.hierarchy is not None and results:
            metrics.update(self._level_metrics(results, pixels))
        for name in ("certified", "on_certified", "clean", "smoothed"):
            if not all(name in r for r in results):
                continue
            total = {k: sum(r[name][k] for r in results) for k in results[0][name]}
            scored = total["gt_area"].sum()
            # No scored pixel (all abstained) has no accuracy, rather than accuracy 0.
            metrics[f"{name}_acc"] = float(total["intersect"].sum() / scored) if scored else None
            miou, iou = _miou(total)
            metrics[f"{name}_miou"] = None if np.isnan(miou) else miou
            if name == "certified":  # bounds under attack, not the certified map's score
                metrics["certified_miou"], iou = self._worst_case(total, results)
            names = self.classes or [str(i) for i in range(self.num_classes)]
            metrics[f"{name}_iou_per_class"] = {
                k: None if np.isnan(v) else float(v) for k, v in zip(names, iou, strict=True)}
        return metrics

    @staticmethod
    def _worst_case(certified: dict[str, np.ndarray], results: list) -> tuple:
        """Certified mIoU and per-class IoU: the abstained pixels per ground-truth class are
        the certified map's ground-truth pixels less those it certified."""
        scored = sum(r["on_certified"]["gt_area"] for r in results)
        abstained = certified["gt_area"] - scored
        union = certified["pred_area"] + certified["gt_area"] - certified["intersect"]
        return (certified_miou(certified["intersect"], union, abstained),
                worst_case_iou(certified["intersect"], union, abstained))
