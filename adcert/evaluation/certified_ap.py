"""Certified AP@50 and certified recall: lower bounds on the attacked smoothed detector's
AP@50 and recall (docs/certified_ap.md), and Chiang et al.'s reading beside them.

Everything here works on the records :func:`adcert.certify.detection.certify_boxes`
writes: per box its coordinate, score and label bounds, plus the slots that may appear.
The attacked output of a frame is any set of boxes those bounds admit; AP is computed as
:func:`average_precision` computes it (greedy matching by score, IoU ≥ 0.5, COCO's
101-point interpolation). No OpenMMLab import: the soundness suite calls these directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from adcert.certify.detection import iou_upper_bound, worst_case_iou

IOU_THRESHOLD = 0.5

Scored = list[tuple[float, bool]]  # (score, is true positive)


def average_precision(scored: Scored, num_gt: int) -> float:
    """COCO's 101-point interpolated AP of (score, is_tp) pairs against ``num_gt`` truths.

    Ties in score rank false positives first: of all orders a tie allows, that gives the
    lowest AP, which is what a lower bound needs. NaN when there is no ground truth.
    """
    if num_gt == 0:
        return float("nan")
    if not scored:
        return 0.0
    score = np.array([s for s, _ in scored], dtype=float)
    hit = np.array([h for _, h in scored], dtype=bool)
    order = np.lexsort((hit, -score))  # primary: score descending; ties: FP (False) first
    tp = hit[order].astype(float)
    recall = np.cumsum(tp) / num_gt
    precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone envelope
    points = np.linspace(0, 1, 101)
    at = np.searchsorted(recall, points, side="left")  # first rank reaching each recall
    reached = at < len(precision)
    return float(np.sum(precision[at[reached]]) / len(points))


def _bounds(values: Sequence[float | None], infinity: float) -> np.ndarray:
    return np.array([infinity if v is None else v for v in values], dtype=float)


def _slots(boxes: list[dict], may_appear: list[dict]) -> list[dict]:
    """Every slot that may be present under attack, in one shape."""
    slots = []
    for b in boxes:
        low, high = b.get("label_range") or [b["label"], b["label"]]
        slots.append({
            "lower": _bounds(b["lower"], -np.inf), "upper": _bounds(b["upper"], np.inf),
            "label_low": -np.inf if low is None else low,
            "label_high": np.inf if high is None else high,
            "score_low": -np.inf if b.get("score_lower") is None else b["score_lower"],
            "score_high": np.inf if b.get("score_upper") is None else b["score_upper"],
            "certain": bool(b["label_certified"] and not b["may_vanish"]),
            "label": b["label"]})
    for m in may_appear:
        low, high = m["label_range"]
        slots.append({
            "lower": _bounds(m["lower"], -np.inf), "upper": _bounds(m["upper"], np.inf),
            "label_low": -np.inf if low is None else low,
            "label_high": np.inf if high is None else high,
            "score_low": -np.inf,
            "score_high": np.inf if m["score_upper"] is None else m["score_upper"],
            "certain": False, "label": None})
    return slots


def certified_frame(gt_boxes: np.ndarray, gt_labels: np.ndarray, boxes: list[dict],
                    may_appear: list[dict] = ()) -> dict:
    """One frame's contribution to certified AP@50: per label, the worst-case ranked list.

    A box is a certified true positive of a ground truth g when it is present under every
    attack with a certified label (no bound infinite), its worst-case IoU with g is ≥ 0.5,
    and no other slot — present, may-vanish or may-appear, of a label that may equal g's —
    can reach IoU ≥ 0.5 with g (so nothing else can take g first). Certified true
    positives enter at their lowest score, every other slot that may carry the label
    enters as a false positive at its highest score. ``gt_boxes`` exclude ignored regions.
    Returns {"scored": {label: [(score, is_tp)]}, "num_gt": {label: count},
    "certified_tp": int}.
    """
    gt_boxes = np.asarray(gt_boxes, dtype=float).reshape(-1, 4)
    gt_labels = np.asarray(gt_labels, dtype=int).reshape(-1)
    slots = _slots(list(boxes), list(may_appear))
    # can_reach[s, g]: slot s may carry g's label and overlap g with IoU ≥ 0.5.
    can_reach = np.zeros((len(slots), len(gt_boxes)), dtype=bool)
    for s, slot in enumerate(slots):
        for g, (gt, label) in enumerate(zip(gt_boxes, gt_labels, strict=True)):
            if slot["label_low"] <= label <= slot["label_high"]:
                can_reach[s, g] = iou_upper_bound(slot["lower"], slot["upper"], gt, gt) >= 0.5
    reached_once = can_reach.sum(axis=0) == 1
    certified = np.zeros(len(slots), dtype=bool)
    for s, slot in enumerate(slots):
        if not slot["certain"]:
            continue
        exclusive = reached_once & can_reach[s]
        for g in np.flatnonzero(exclusive & (gt_labels == slot["label"])):
            if worst_case_iou(slot["lower"], slot["upper"], gt_boxes[g]) >= IOU_THRESHOLD:
                certified[s] = True
                break
    scored: dict[int, Scored] = defaultdict(list)
    labels = set(gt_labels.tolist()) | {int(s["label"]) for s in slots if s["label"] is not None}
    for label in labels:
        for s, slot in enumerate(slots):
            if certified[s] and slot["label"] == label:
                scored[label].append((slot["score_low"], True))
            elif slot["label_low"] <= label <= slot["label_high"]:
                scored[label].append((slot["score_high"], False))
    # Labels a may-appear or uncertified slot could take beyond those named: any label
    # with ground truth is covered above; others have no AP.
    num_gt = dict(zip(*np.unique(gt_labels, return_counts=True), strict=True))
    return {"scored": dict(scored), "num_gt": {int(k): int(v) for k, v in num_gt.items()},
            "certified_tp": int(certified.sum())}


def greedy_match(scores: np.ndarray, labels: np.ndarray, overlap: np.ndarray,
                 gt_labels: np.ndarray) -> dict[int, Scored]:
    """Greedy matching by descending score: each prediction takes the unmatched ground
    truth of its label with the largest overlap ≥ 0.5. Returns per label (score, is_tp)."""
    taken = np.zeros(len(gt_labels), dtype=bool)
    out: dict[int, Scored] = defaultdict(list)
    for p in np.argsort(-scores, kind="stable"):
        candidates = (gt_labels == labels[p]) & ~taken & (overlap[p] >= IOU_THRESHOLD)
        hit = bool(candidates.any())
        if hit:
            taken[np.flatnonzero(candidates)[np.argmax(overlap[p][candidates])]] = True
        out[int(labels[p])].append((float(scores[p]), hit))
    return dict(out)


def chiang_frame(gt_boxes: np.ndarray, gt_labels: np.ndarray, boxes: list[dict]) -> dict:
    """Chiang et al.'s reading (2020), kept for comparison with the paper: a smoothed box
    is a true positive when its label is certified and its worst-case IoU with a ground
    truth is ≥ 0.5, matched greedily by median score. NOT a lower bound on the attacked
    AP (an output may take another box's ground truth; scores and may-appear slots are
    ignored)."""
    gt_boxes = np.asarray(gt_boxes, dtype=float).reshape(-1, 4)
    gt_labels = np.asarray(gt_labels, dtype=int).reshape(-1)
    worst = np.array([[worst_case_iou(_bounds(b["lower"], -np.inf), _bounds(b["upper"], np.inf),
                                      g) if b["label_certified"] else 0.0 for g in gt_boxes]
                      for b in boxes]).reshape(len(boxes), len(gt_boxes))
    scores = np.array([b["score"] for b in boxes], dtype=float)
    labels = np.array([b["label"] for b in boxes], dtype=int)
    return greedy_match(scores, labels, worst, gt_labels)


def dataset_ap(frames: list[dict[int, Scored]], num_gt: dict[int, int],
               labels: Sequence[int]) -> dict[int, float]:
    """Per-label AP over frames whose per-label (score, is_tp) lists are given."""
    out = {}
    for label in labels:
        scored = [pair for frame in frames for pair in frame.get(label, [])]
        out[label] = average_precision(scored, num_gt.get(label, 0))
    return out


def failure_probability(record: dict) -> float | None:
    """Union bound on the chance that a bound the certified AP of this frame rests on is
    wrong: the 12 bounds of every observed slot and, per possible bin, the one bound that
    rules out every slot never observed (docs/certified_ap.md). None if the bin count is
    unknown."""
    bins = record.get("possible_bins")
    if bins is None:
        return None
    slots = record.get("observed_slots")
    if slots is None:
        slots = len(record["boxes"]) + len(record.get("may_appear", []))
    return min(1.0, record["alpha_per_bound"] * (12 * slots + bins))
