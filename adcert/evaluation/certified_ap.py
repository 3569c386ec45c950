"""Certified AP@50 and certified recall: lower bounds on the attacked smoothed detector's
AP@50 and recall as pycocotools computes them (docs/certified_ap.md), and Chiang et al.'s
reading beside them.

Everything here works on the records :func:`adcert.certify.detection.certify_boxes`
writes: per box its coordinate, score and label bounds, plus the slots that may appear.
The attacked output of a frame is any set of boxes those bounds admit; AP is computed as
:func:`adcert.evaluation.coco.coco_ap50` computes it (per image and class the 100
highest-scoring detections, greedy matching by score, IoU ≥ 0.5 in pycocotools'
arithmetic, COCO's 101-point interpolation). No OpenMMLab import: the soundness suite
calls these directly.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from adcert.certify.detection import IOU_ROUNDING, iou_upper_bound, worst_case_iou
from adcert.stats._rounding import step_down, step_up

IOU_THRESHOLD = 0.5
# pycocotools keeps the maxDets[-1] = 100 highest-scoring detections per image and class.
MAX_DETS = 100
# pycocotools' AP of a ranked list (precision tp / (tp + fp + 2⁻⁵²), a mean of 101 points)
# lies within a few dozen units of 2⁻⁵³ of the exact AP; certified AP is lowered by this.
AP_ROUNDING = 2.0**-46
# What is proven about a failure bound B (docs/certified_ap.md, "With which probability").
# B is computed from the samples, so "the certificates fail with probability ≤ B" would
# claim more than this threshold reading, which is what makes a verdict "B ≤ 1 − c" valid.
FAILURE_BOUND_READING = "for every b, P(some certificate wrong and B ≤ b) ≤ b"

Scored = list[tuple[float, bool]]  # (score, is true positive)


def _ap(score: np.ndarray, hit: np.ndarray, num_gt: int) -> float:
    if num_gt == 0:
        return float("nan")
    if score.size == 0:
        return 0.0
    order = np.lexsort((hit, -score))  # primary: score descending; ties: FP (False) first
    tp = hit[order].astype(float)
    recall = np.cumsum(tp) / num_gt
    precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # monotone envelope
    points = np.linspace(0, 1, 101)
    at = np.searchsorted(recall, points, side="left")  # first rank reaching each recall
    reached = at < len(precision)
    return float(np.sum(precision[at[reached]]) / len(points))


def average_precision(scored: Scored, num_gt: int) -> float:
    """COCO's 101-point interpolated AP of (score, is_tp) pairs against ``num_gt`` truths.

    Ties in score rank false positives first: of all orders a tie allows, that gives the
    lowest AP, which is what a lower bound needs. NaN when there is no ground truth.
    """
    score = np.array([s for s, _ in scored], dtype=float)
    hit = np.array([h for _, h in scored], dtype=bool)
    return _ap(score, hit, num_gt)


def coco_iou_margins(outer: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """How far pycocotools' IoU of a ground truth and any box inside an ``outer`` box (x1
    lower, y1 lower, x2 upper, y2 upper of a slot's bounds) can lie from the exact IoU,
    plus the rounding of :func:`iou_upper_bound` / :func:`worst_case_iou`, for every pair
    of (S, 4) outer boxes and (G, 4) ground truths (docs/certified_ap.md, "Arithmetic"):
    2⁻⁴⁸ + 2⁻⁵⁰ · M · (1/w + 1/h), M the pair's largest coordinate magnitude and w × h
    the ground truth's size. pycocotools adds x + (x2 − x1) back in xywh form, an error
    relative to M, not to the box. +∞ where the proof's conditions fail (a bound
    infinite, a degenerate or extreme ground truth)."""
    outer = np.asarray(outer, dtype=float).reshape(-1, 4)
    gt = np.asarray(gt, dtype=float).reshape(-1, 4)
    width, height = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    largest = np.maximum(np.abs(outer).max(axis=1)[:, None], np.abs(gt).max(axis=1)[None, :])
    usable = (np.minimum(width, height) >= 2.0**-400)[None, :] & (largest <= 2.0**500)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = largest * (1.0 / width + 1.0 / height)[None, :]
    usable &= np.isfinite(ratio) & (ratio <= 2.0**44)  # the proof needs η ≤ 0.01
    margin = step_up(IOU_ROUNDING + 2.0**-50 * np.where(usable, ratio, 0.0), 2)
    return np.where(usable, margin, np.inf)


def coco_iou_margin(outer: Sequence[float], gt: Sequence[float]) -> float:
    """:func:`coco_iou_margins` of one outer box and one ground truth."""
    return float(coco_iou_margins(outer, gt)[0, 0])


def _bounds(values: Sequence[float | None], infinity: float) -> np.ndarray:
    return np.array([infinity if v is None else v for v in values], dtype=float)


def _finite(value: float | None, infinity: float) -> float:
    return infinity if value is None else float(value)


def _slots(boxes: list[dict], may_appear: list[dict]) -> list[dict]:
    """Every slot that may be present under attack, in one shape."""
    slots = []
    for b in boxes:
        low, high = b.get("label_range") or [b["label"], b["label"]]
        slots.append({
            "lower": _bounds(b["lower"], -np.inf), "upper": _bounds(b["upper"], np.inf),
            "label_low": _finite(low, -np.inf), "label_high": _finite(high, np.inf),
            "score_low": _finite(b.get("score_lower"), -np.inf),
            "score_high": _finite(b.get("score_upper"), np.inf),
            "certain": bool(b["label_certified"] and not b["may_vanish"]),
            "label": b["label"]})
    for m in may_appear:
        low, high = m["label_range"]
        slots.append({
            "lower": _bounds(m["lower"], -np.inf), "upper": _bounds(m["upper"], np.inf),
            "label_low": _finite(low, -np.inf), "label_high": _finite(high, np.inf),
            "score_low": -np.inf, "score_high": _finite(m["score_upper"], np.inf),
            "certain": False, "label": None})
    return slots


def _outer(slot: dict) -> np.ndarray:
    return np.array([slot["lower"][0], slot["lower"][1], slot["upper"][2], slot["upper"][3]])


def _can_reach(slot: dict, gt: np.ndarray, label: int, margin: float) -> bool:
    """The slot may carry ``label`` and pycocotools may find its IoU with ``gt`` ≥ 0.5."""
    if not slot["label_low"] <= label <= slot["label_high"]:
        return False
    highest = iou_upper_bound(slot["lower"], slot["upper"], gt, gt) + margin
    return math.nextafter(highest, math.inf) >= IOU_THRESHOLD  # above the rounded sum


def _surely_overlaps(slot: dict, gt: np.ndarray, margin: float) -> bool:
    """pycocotools finds IoU ≥ 0.5 with ``gt`` for every box inside the slot's bounds."""
    lowest = worst_case_iou(slot["lower"], slot["upper"], gt) - margin
    return math.nextafter(lowest, -math.inf) >= IOU_THRESHOLD


def _outranked_by(slots: list[dict], t: int) -> int:
    """How many other slots may carry t's label with a score that may reach t's lowest:
    at most that many detections can rank before t in pycocotools' list of its label."""
    label, lowest = slots[t]["label"], slots[t]["score_low"]
    may = np.array([[s["label_low"], s["label_high"], s["score_high"]] for s in slots])
    ahead = (may[:, 0] <= label) & (label <= may[:, 1]) & (may[:, 2] >= lowest)
    return int(ahead.sum()) - 1  # t itself qualifies


def certified_frame(gt_boxes: np.ndarray, gt_labels: np.ndarray, boxes: list[dict],
                    may_appear: list[dict] = (), max_dets: int | None = MAX_DETS) -> dict:
    """One frame's contribution to certified AP@50 (docs/certified_ap.md, "Definition").

    A slot is a certified true positive of a ground truth g when it is present under every
    attack with a certified label (no bound infinite), pycocotools' IoU of every box inside
    its bounds with g is ≥ 0.5, no other slot that may carry g's label can reach IoU ≥ 0.5
    with g (so nothing else can take g first), and fewer than ``max_dets`` other slots may
    carry its label at a score reaching its lowest (so pycocotools' per-image cap keeps
    it; None: no cap). Certified true positives enter at their lowest score; every other
    slot enters as a false positive at its highest score, for every label its label
    interval holds — in this frame whether or not the label has ground truth here, since
    AP pools every frame's list. ``gt_boxes`` exclude ignored regions.

    Returns {"true_positives": (k, 2) [score, label], "false_positives": (m, 3) [score,
    label_low, label_high], "num_gt": {label: count}, "certified_tp": k, "max_dets"};
    :func:`worst_case_lists` reads it per label.
    """
    gt_boxes = np.asarray(gt_boxes, dtype=float).reshape(-1, 4)
    gt_labels = np.asarray(gt_labels, dtype=int).reshape(-1)
    slots = _slots(list(boxes), list(may_appear))
    margin = coco_iou_margins([_outer(slot) for slot in slots], gt_boxes).reshape(
        len(slots), len(gt_boxes))
    # can_reach[s, g]: slot s may carry g's label and overlap g with IoU ≥ 0.5.
    can_reach = np.array([[_can_reach(slot, gt, label, margin[s, g]) for g, (gt, label) in
                           enumerate(zip(gt_boxes, gt_labels, strict=True))]
                          for s, slot in enumerate(slots)], dtype=bool).reshape(margin.shape)
    reached_once = can_reach.sum(axis=0) == 1
    certified = np.zeros(len(slots), dtype=bool)
    for s, slot in enumerate(slots):
        if not slot["certain"]:
            continue
        exclusive = reached_once & can_reach[s] & (gt_labels == slot["label"])
        if any(_surely_overlaps(slot, gt_boxes[g], margin[s, g])
               for g in np.flatnonzero(exclusive)):
            certified[s] = max_dets is None or _outranked_by(slots, s) < max_dets
    true_positives = [(slots[s]["score_low"], slots[s]["label"]) for s in np.flatnonzero(certified)]
    false_positives = [(slot["score_high"], slot["label_low"], slot["label_high"])
                       for s, slot in enumerate(slots) if not certified[s]]
    num_gt = dict(zip(*np.unique(gt_labels, return_counts=True), strict=True))
    return {"true_positives": np.array(true_positives, dtype=float).reshape(-1, 2),
            "false_positives": np.array(false_positives, dtype=float).reshape(-1, 3),
            "num_gt": {int(k): int(v) for k, v in num_gt.items()},
            "certified_tp": int(certified.sum()), "max_dets": max_dets}


def _worst_case_arrays(frame: dict, label: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, is_tp) of one label's worst-case list in one frame, ranked (ties: false
    positives first) and cut to the frame's ``max_dets``."""
    tp, fp = frame["true_positives"], frame["false_positives"]
    tp_score = tp[tp[:, 1] == label, 0]
    fp_score = fp[(fp[:, 1] <= label) & (label <= fp[:, 2]), 0]
    score = np.concatenate([tp_score, fp_score])
    hit = np.r_[np.ones(len(tp_score), bool), np.zeros(len(fp_score), bool)]
    order = np.lexsort((hit, -score))[:frame["max_dets"]]
    return score[order], hit[order]


def worst_case_lists(frame: dict, labels: Sequence[int]) -> dict[int, Scored]:
    """Per label, the ranked (score, is_tp) worst-case list of a :func:`certified_frame`."""
    out = {}
    for label in labels:
        score, hit = _worst_case_arrays(frame, label)
        out[int(label)] = [(float(s), bool(h)) for s, h in zip(score, hit, strict=True)]
    return out


def certified_ap(frames: list[dict], num_gt: dict[int, int],
                 labels: Sequence[int]) -> dict[int, float]:
    """Per-label certified AP@50 over :func:`certified_frame` results: the AP of the
    worst-case lists pooled over the frames, lowered by :data:`AP_ROUNDING` so that it
    stays below pycocotools' own arithmetic (docs/certified_ap.md)."""
    out = {}
    for label in labels:
        parts = [_worst_case_arrays(frame, label) for frame in frames]
        score = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
        hit = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, bool)
        ap = _ap(score, hit, num_gt.get(label, 0))
        out[label] = ap if np.isnan(ap) or ap == 0 else max(0.0, float(step_down(
            ap - AP_ROUNDING)))
    return out


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
    """A failure bound for one frame's certified statements (docs/certified_ap.md, "With
    which probability"): α' · min(12 · slot family, 12 · observed slots + 2 · possible
    bins), α' the level of each bound. The first term is the union bound over every slot
    the settings allow (fixed before sampling); the second counts the 12 bounds of every
    slot the samples showed plus, per bin that could form, one bound that covers every
    slot not shown and one that covers every slot shown although rarely filled. Valid in
    the threshold reading (:data:`FAILURE_BOUND_READING`): for every b, P(a statement is
    wrong and the bound ≤ b) ≤ b. Not "wrong with probability ≤ the bound": the bound
    depends on the samples. None if the bin count is unknown."""
    bins = record.get("possible_bins")
    if bins is None:
        return None
    slots = record.get("observed_slots")
    if slots is None:
        slots = len(record["boxes"]) + len(record.get("may_appear", []))
    count = 12 * int(slots) + 2 * int(bins)
    if record.get("slot_family") is not None:
        count = min(count, 12 * int(record["slot_family"]))
    return min(1.0, float(step_up(record["alpha_per_bound"] * count)))
