"""The numbers behind the report's tables and plots, read from run summaries and records.

Everything here is a figure a run already computed (its summary) or a count over its
records; nothing is re-estimated. Incomplete runs contribute no figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from adcert.certify.detection import box_iou
from adcert.certify.hierarchy import FINE_LEVEL
from adcert.report.runs import Run
from adcert.report.verdicts import frames_failure_bound

DETECTION_HEADLINE = ("clean_ap50", "smoothed_ap50", "certified_ap50", "chiang_certified_ap50",
                      "certified_recall", "certified_failure_bound", "may_vanish_rate",
                      "label_changeable_rate", "unlocalised_rate", "may_appear_per_frame",
                      "seconds_per_frame")
SEGMENTATION_HEADLINE = ("clean_acc", "certified_acc", "on_certified_acc", "clean_miou",
                         "certified_miou", "abstain_rate", "seconds_per_frame")
DETECTION_CLASS_COLUMNS = {"clean": "clean_ap50_per_class", "smoothed": "smoothed_ap50_per_class",
                           "certified": "certified_ap50_per_class",
                           "chiang": "chiang_certified_ap50_per_class"}
SEGMENTATION_CLASS_COLUMNS = {"clean": "clean_iou_per_class",
                              "certified": "certified_iou_per_class",
                              "on_certified": "on_certified_iou_per_class"}


def certain_box(box: dict) -> bool:
    """A box certified present with a certified label."""
    return bool(box.get("label_certified")) and not box.get("may_vanish")


def certified_wrong_boxes(record: dict) -> list[int] | None:
    """Indices of certain boxes whose smoothed box overlaps no ground truth of its label
    at IoU ≥ 0.5 (crowd regions excepted): certified, but wrong. None without ground truth."""
    truth = record.get("ground_truth")
    if truth is None:
        return None
    gts = np.asarray(truth.get("boxes") or [], float).reshape(-1, 4)
    labels = np.asarray(truth.get("labels") or [], int)
    crowd = np.asarray(truth.get("ignored_boxes") or [], float).reshape(-1, 4)
    wrong = []
    for i, box in enumerate(record.get("boxes", [])):
        if not certain_box(box):
            continue
        same = gts[labels == box["label"]]
        hit = len(same) and box_iou([box["bbox"]], same).max() >= 0.5
        in_crowd = len(crowd) and box_iou([box["bbox"]], crowd).max() >= 0.5
        if not hit and not in_crowd:
            wrong.append(i)
    return wrong


def headline(run: Run) -> dict:
    """The run's headline figures, per-class table and counts (empty for unusable runs)."""
    if not run.usable:
        return {}
    s = run.summary
    if run.task == "detection":
        keys, columns = DETECTION_HEADLINE, DETECTION_CLASS_COLUMNS
    else:
        keys, columns = SEGMENTATION_HEADLINE, SEGMENTATION_CLASS_COLUMNS
    out: dict = {key: s.get(key) for key in keys}
    out["per_class"] = {name: {col: (s.get(key) or {}).get(name) for col, key in columns.items()}
                        for name in run.classes}
    records = run.records
    if run.task == "detection":
        boxes = [b for r in records for b in r.get("boxes", [])]
        out["boxes"] = len(boxes)
        out["certain_boxes"] = sum(certain_box(b) for b in boxes)
        wrong = [certified_wrong_boxes(r) for r in records]
        out["certified_wrong_boxes"] = (None if any(w is None for w in wrong)
                                        else sum(len(w) for w in wrong))
    else:
        alpha = run.settings.get("alpha")
        out["joint_failure_bound"] = (None if alpha is None
                                      else frames_failure_bound(len(records), alpha))
        rates = [r.get("certified_wrong_rate") for r in records]
        out["certified_wrong_rate"] = (None if not rates or any(x is None for x in rates)
                                       else float(np.mean(rates)))
        out.update(hierarchy_figures(s))
    return out


def hierarchy_figures(summary: dict) -> dict:
    """A hierarchical segmentation run's figures (docs/certificates.md §9): the hierarchy's
    name, the certified information gain and, per level, certified accuracy and mIoU
    (lower bounds under attack); empty for a flat run."""
    tree = summary.get("hierarchy")
    if not isinstance(tree, dict):
        return {}
    acc = summary.get("certified_acc_by_level") or {}
    miou = summary.get("certified_miou_by_level") or {}
    levels = [FINE_LEVEL] + [str(level.get("name")) for level in tree.get("levels") or []]
    return {"hierarchy": tree.get("name"),
            "certified_information_gain": summary.get("certified_information_gain"),
            "by_level": {level: {"certified_acc": acc.get(level),
                                 "certified_miou": miou.get(level)} for level in levels}}


def _range_size(certified_range: dict) -> float | None:
    """The x axis of a certified-range curve: the radius, or the range's upper end
    (brightness offset, contrast factor, gamma), or the ellipse's log-contrast semi-axis."""
    if "k_radius" in certified_range:
        return certified_range["k_radius"]
    return certified_range.get("high")


def detection_eps_curve(run: Run) -> list[dict]:
    """Certified AP@50 and Chiang's reading against ε (each ε its own certificate)."""
    s = run.summary
    points = [{"eps": e["eps"], **{k: e.get(k) for k in (
        "certified_ap50", "chiang_certified_ap50", "certified_recall",
        "certified_failure_bound", "may_vanish_rate")}} for e in s.get("eps_sweep") or []]
    if not points:
        points = [{"eps": run.settings.get("eps"), **{k: s.get(k) for k in (
            "certified_ap50", "chiang_certified_ap50", "certified_recall",
            "certified_failure_bound", "may_vanish_rate")}}]
    return sorted(points, key=lambda p: p["eps"])


def segmentation_tau_curve(run: Run) -> list[dict]:
    """Certified fraction and certified accuracy against the certified range, one point
    per τ' (from the summary's sweep, or averaged over the records' sweeps)."""
    sweep = run.summary.get("tau_sweep")
    if not sweep:
        pooled: dict[float, dict] = defaultdict(lambda: {"fractions": [], "accs": []})
        for record in run.records:
            for point in record.get("tau_sweep") or []:
                pooled[point["tau"]]["range"] = point["certified_range"]
                pooled[point["tau"]]["fractions"].append(point["certified_fraction"])
                pooled[point["tau"]]["accs"].append(point.get("certified_acc"))
        sweep = [{"tau": tau, "certified_range": p["range"],
                  "certified_fraction": float(np.mean(p["fractions"])),
                  "certified_acc": (None if any(a is None for a in p["accs"])
                                    else float(np.mean(p["accs"])))}
                 for tau, p in pooled.items()]
    return sorted(({"tau": p["tau"], "size": _range_size(p["certified_range"]),
                    "range_text": p["certified_range"].get("text"),
                    "certified_fraction": p.get("certified_fraction"),
                    "abstain_rate": (None if p.get("certified_fraction") is None
                                     else 1.0 - p["certified_fraction"]),
                    "certified_acc": p.get("certified_acc")} for p in sweep),
                  key=lambda p: p["tau"])


def camera_effect(run: Run) -> dict:
    """What a camera-effect run certified: the parameter range and its headline figure."""
    record = run.records[0] if run.records else {}
    certified = record.get("certified_range") or {}
    key = "certified_ap50" if run.task == "detection" else "certified_acc"
    return {"run": run.label, "task": run.task, "transform": run.transform,
            "low": certified.get("low"), "high": certified.get("high"),
            "k_radius": certified.get("k_radius"), "b_radius": certified.get("b_radius"),
            "text": certified.get("text"), "figure": key, "value": run.summary.get(key)}


def readings(run: Run) -> dict:
    """Clean (base model), smoothed (measured, unattacked) and certified (lower bound)
    reading of the run's main figure; a segmentation summary written before the smoothed
    figures were measured has no smoothed reading (None)."""
    s = run.summary
    if run.task == "detection":
        return {"run": run.label, "task": run.task, "figure": "AP@50",
                "clean": s.get("clean_ap50"), "smoothed": s.get("smoothed_ap50"),
                "certified": s.get("certified_ap50")}
    return {"run": run.label, "task": run.task, "figure": "mIoU",
            "clean": s.get("clean_miou"), "smoothed": s.get("smoothed_miou"),
            "certified": s.get("certified_miou")}


def report_figures(runs: Sequence[Run]) -> dict:
    """Every curve and table of the report, keyed by what it shows."""
    usable = [r for r in runs if r.usable]
    return {
        "detection_eps": [{"run": r.label, "transform": r.transform,
                           "points": detection_eps_curve(r)}
                          for r in usable if r.task == "detection"],
        "segmentation_tau": [{"run": r.label, "transform": r.transform,
                              "points": segmentation_tau_curve(r)}
                             for r in usable if r.task == "segmentation"],
        "camera_effects": [camera_effect(r) for r in usable if r.transform != "gaussian"],
        "readings": [readings(r) for r in usable],
    }
