"""AP@50 of the base detector and of the smoothed (median) detector, certified AP@50 and
certified recall, and Chiang et al.'s reading of certified AP@50.

- ``clean_ap50`` / ``smoothed_ap50``: pycocotools as mmdet's ``CocoMetric`` (crowd regions,
  maxDets 100); clean detections at the model's own test score threshold.
- ``certified_ap50`` / ``certified_recall``: lower bounds on the AP@50 / recall of the
  attacked smoothed detector as pycocotools computes them (docs/certified_ap.md,
  :mod:`adcert.evaluation.certified_ap`), with the failure bound B =
  ``certified_failure_bound`` of every certificate they rest on. What docs/certified_ap.md
  ("With which probability") proves is the threshold reading: for every b, P(some
  certificate wrong and B ≤ b) ≤ b — so a figure trusted only when B ≤ b is wrong with
  probability ≤ b. B depends on the samples: "wrong with probability ≤ B" is not claimed.
- ``chiang_certified_ap50``: the paper's reading, for comparison only; not a bound.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from adcert.evaluation.certified_ap import (
    certified_ap,
    certified_frame,
    chiang_frame,
    dataset_ap,
    failure_probability,
)
from adcert.evaluation.coco import coco_ap50
from adcert.stats._rounding import step_up


def frame_matches(sample: dict) -> dict:
    """What one frame contributes to every reading.

    ``sample`` holds ``gt_boxes`` (G, 4), ``gt_labels`` (G,), optionally ``ignored_boxes``
    / ``ignored_labels`` (crowd regions), ``clean`` (k, 6) base-model detections,
    ``smoothed`` (box records) and ``may_appear`` (slot records), optionally the frame's
    certificate ``record`` (for the failure bound) and its ``eps_sweep`` (the record's
    entries: the same samples certified at other ε), each read as the run's ε is.
    """
    gt_boxes = np.asarray(sample["gt_boxes"], dtype=float).reshape(-1, 4)
    gt_labels = np.asarray(sample["gt_labels"], dtype=int).reshape(-1)
    boxes, may_appear = list(sample["smoothed"]), list(sample.get("may_appear", []))
    smoothed = np.array([[*b["bbox"], b["score"], b["label"]] for b in boxes],
                        dtype=float).reshape(-1, 6)
    coco = {"gt_boxes": gt_boxes, "gt_labels": gt_labels,
            "ignored_boxes": np.asarray(sample.get("ignored_boxes", []), float).reshape(-1, 4),
            "ignored_labels": np.asarray(sample.get("ignored_labels", []), int).reshape(-1)}
    record = sample.get("record")
    # The bin count and slot family are settings, the same at every ε of the sweep.
    settings = {} if record is None else {key: record.get(key)
                                          for key in ("possible_bins", "slot_family")}
    sweep = [{"eps": entry["eps"],
              **_certified_matches(gt_boxes, gt_labels, entry["boxes"], entry["may_appear"],
                                   None if record is None else {**entry, **settings})}
             for entry in sample.get("eps_sweep", [])]
    return {
        "clean": {**coco, "detections": np.asarray(sample["clean"], float).reshape(-1, 6)},
        "smoothed": {**coco, "detections": smoothed},
        **_certified_matches(gt_boxes, gt_labels, boxes, may_appear, record),
        "may_appear": len(may_appear),
        "label_uncertified": int(sum(not b["label_certified"] for b in boxes)),
        "unlocalised": int(sum(b.get("localisation_iou", 0.0) < 0.5 for b in boxes
                               if b["label_certified"] and not b["may_vanish"])),
        "certain": int(sum(b["label_certified"] and not b["may_vanish"] for b in boxes)),
        "eps_sweep": sweep,
        **({"present_by_label": _present_by_label(boxes)}
           if any("label_node" in b for b in boxes) else {}),
    }


def _present_by_label(boxes: list[dict]) -> dict[int, list[int]]:
    """Per median label: [boxes certified present with a certified class, those certified
    present with a certified node below the root (class included)] (§9)."""
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for b in boxes:
        if b["may_vanish"]:
            continue
        out[int(b["label"])][0] += bool(b["label_certified"])
        out[int(b["label"])][1] += b.get("label_node") is not None
    return dict(out)


def _certified_matches(gt_boxes: np.ndarray, gt_labels: np.ndarray, boxes: list[dict],
                       may_appear: list[dict], record: dict | None) -> dict:
    """One certificate's share of the certified readings: its certified and Chiang
    matches, its failure bound (None without ``record``), its box and may-vanish counts."""
    return {
        "certified": certified_frame(gt_boxes, gt_labels, boxes, may_appear),
        "chiang": chiang_frame(gt_boxes, gt_labels, boxes),
        "failure": failure_probability(record) if record is not None else None,
        "boxes": len(boxes),
        "may_vanish": int(sum(b["may_vanish"] for b in boxes)),
    }


# The figures each ε of the summary's ``eps_sweep`` gives, as the headline names them.
SWEEP_FIGURES = ("certified_ap50", "certified_ap50_per_class", "chiang_certified_ap50",
                 "certified_recall", "certified_failure_bound", "may_vanish_rate")


def _mean(values: dict[str, float]) -> float | None:
    valid = [v for v in values.values() if not math.isnan(v)]
    return float(np.mean(valid)) if valid else None


def _upper_sum(values: list[float]) -> float:
    """min(1, Σ values), never below the exact sum: fsum rounds correctly, one step up."""
    total = math.fsum(values)
    return min(1.0, float(step_up(total))) if total > 0 else 0.0


def _strict(per_class: dict[str, float]) -> dict[str, float | None]:
    return {k: None if math.isnan(v) else v for k, v in per_class.items()}


@METRICS.register_module()
class CertifiedDetMetric(BaseMetric):
    """Clean / smoothed / certified (and Chiang's) AP@50 per class and their mean,
    certified recall, the failure bound of the certified figures (threshold reading, see
    the module doc), and the rates of boxes that may vanish, whose label may change, or
    that are certified but not localised (worst-case IoU with their own smoothed box
    < 0.5). Per-class figures are keyed by class name; undefined
    figures are None (strict JSON). When the frames carry an ``eps_sweep``, ``eps_sweep``
    lists the certified figures (:data:`SWEEP_FIGURES`) at each of its ε, computed as at
    the run's ε; each ε's figures rest on its own certificates, not on all jointly."""

    default_prefix = "cert"

    def __init__(self, classes: list[str] | tuple[str, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self.classes = list(classes)

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(frame_matches(sample) for sample in data_samples)

    def compute_metrics(self, results: list) -> dict:
        num_gt: dict[int, int] = defaultdict(int)
        for r in results:
            for label, count in r["certified"]["num_gt"].items():
                num_gt[int(label)] += int(count)
        labels = list(range(len(self.classes)))
        metrics = self._ap_figures({
            "clean": coco_ap50([r["clean"] for r in results], labels),
            "smoothed": coco_ap50([r["smoothed"] for r in results], labels)})
        metrics.update(self._certified_figures(results, num_gt))
        boxes = sum(r["boxes"] for r in results)
        certain = sum(r["certain"] for r in results)
        for key, field, total in (("label_changeable_rate", "label_uncertified", boxes),
                                  ("unlocalised_rate", "unlocalised", certain)):
            metrics[key] = sum(r[field] for r in results) / total if total else None
        metrics["may_appear_per_frame"] = (
            sum(r["may_appear"] for r in results) / len(results) if results else None)
        sweep = self._eps_sweep(results, num_gt)
        if sweep:
            metrics["eps_sweep"] = sweep
        if any("present_by_label" in r for r in results):
            metrics["certified_present_per_class"] = self._present_per_class(results)
        return metrics

    def _present_per_class(self, results: list) -> dict[str, dict[str, int]]:
        """Per class (of the box's median label): boxes certified present with their class
        certified, and with some node below the root certified (§9; counts, measured)."""
        totals = {name: {"class": 0, "node": 0} for name in self.classes}
        for r in results:
            for label, (fine, node) in r.get("present_by_label", {}).items():
                totals[self.classes[int(label)]]["class"] += fine
                totals[self.classes[int(label)]]["node"] += node
        return totals

    def _ap_figures(self, readings: dict[str, dict[int, float]]) -> dict:
        """``<reading>_ap50`` (mean over classes with ground truth) and per class."""
        metrics: dict = {}
        for reading, per_label in readings.items():
            per_class = {name: per_label[label] for label, name in enumerate(self.classes)}
            metrics[f"{reading}_ap50"] = _mean(per_class)
            metrics[f"{reading}_ap50_per_class"] = _strict(per_class)
        return metrics

    def _certified_figures(self, frames: list[dict], num_gt: dict[int, int]) -> dict:
        """Certified and Chiang AP@50, certified recall, its failure bound and the
        may-vanish rate of one certificate per frame (:func:`_certified_matches`)."""
        labels = list(range(len(self.classes)))
        metrics = self._ap_figures({
            "certified": certified_ap([f["certified"] for f in frames], num_gt, labels),
            "chiang_certified": dataset_ap([f["chiang"] for f in frames], num_gt, labels)})
        total_gt = sum(num_gt.values())
        certified_tp = sum(f["certified"]["certified_tp"] for f in frames)
        metrics["certified_recall"] = certified_tp / total_gt if total_gt else None
        failures = [f["failure"] for f in frames]
        metrics["certified_failure_bound"] = (
            None if any(f is None for f in failures) else _upper_sum(failures))
        boxes = sum(f["boxes"] for f in frames)
        metrics["may_vanish_rate"] = (sum(f["may_vanish"] for f in frames) / boxes
                                      if boxes else None)
        return metrics

    def _eps_sweep(self, results: list, num_gt: dict[int, int]) -> list[dict]:
        """The certified figures at each ε every frame was certified at, sorted by ε;
        each ε's figures are those of its own certificates (level α each, not jointly)."""
        by_eps: dict[float, list[dict]] = defaultdict(list)
        for r in results:
            for entry in r.get("eps_sweep", []):
                by_eps[entry["eps"]].append(entry)
        sweep = []
        for eps in sorted(e for e, frames in by_eps.items() if len(frames) == len(results)):
            figures = self._certified_figures(by_eps[eps], num_gt)
            sweep.append({"eps": eps, **{key: figures[key] for key in SWEEP_FIGURES}})
        return sweep
