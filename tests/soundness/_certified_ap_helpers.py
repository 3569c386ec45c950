"""What the certified-AP soundness checks share (``test_certified_ap*.py``): the brute-force
side — every corner box of a slot, greedy matching, COCO's 101-point AP written out
plainly — and the verdict on a sound reading. Each check keeps its own random frames, its
own readings and its own way of turning a record's open bounds into finite ones.
"""

from __future__ import annotations

import itertools

import numpy as np

from tests.soundness.harness import assert_sound

# The bound is deterministic given the bounds: a sound reading is never wrong, so any α
# works; 0.01 lets 1000 trials show a broken reading overclaiming significantly.
ALPHA = 0.01
LABELS = (0, 1)
SIZE = 200.0  # image side: a present box is clipped to it, so +∞ upper bounds end here
TOP, BOTTOM = 10.0, -1.0  # finite stand-ins for score bounds ±∞


def finite(values, infinity: float) -> np.ndarray:
    """A record's bounds with each open one (None) replaced by ``infinity``."""
    return np.array([infinity if v is None else v for v in values], dtype=float)


def box_iou(box: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of one box [x1, y1, x2, y2] with each row of ``gt``."""
    ix = np.clip(np.minimum(box[2], gt[:, 2]) - np.maximum(box[0], gt[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], gt[:, 3]) - np.maximum(box[1], gt[:, 1]), 0, None)
    inter = ix * iy
    area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
    union = area + (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def corner_outcomes(lower: np.ndarray, upper: np.ndarray, scores, labels, optional: bool,
                    gt: np.ndarray) -> list:
    """Distinct outcomes of one slot for greedy matching: (score, label, ground truths it
    overlaps with IoU ≥ 0.5 in order of IoU) over every corner box of [lower, upper] (the
    reach sets the corners give are the extremes), every score and label given, and None
    (absent) when the slot is ``optional``."""
    reach = set()
    for mask in itertools.product((0, 1), repeat=4):
        overlap = box_iou(np.where(mask, upper, lower), gt)
        hits = np.flatnonzero(overlap >= 0.5)
        reach.add(tuple(hits[np.argsort(-overlap[hits], kind="stable")]))
    out = [(s, lab, r) for r in reach for s in scores for lab in labels]
    return out + [None] if optional else out


def greedy_lists(chosen, gt_labels: np.ndarray) -> dict:
    """Per label, the ranked (score, hit) list of one output (``chosen``: one outcome per
    slot, None for absent): greedy matching by score, each detection taking the unmatched
    truth of its label it overlaps most."""
    present = sorted((c for c in chosen if c is not None), key=lambda c: -c[0])
    taken, lists = set(), {}
    for score, label, reach in present:
        hit = next((g for g in reach if g not in taken and gt_labels[g] == label), None)
        if hit is not None:
            taken.add(hit)
        lists.setdefault(label, []).append((score, hit is not None))
    return lists


def interpolated_ap(flags: list[bool], num_gt: int) -> float:
    """COCO's 101-point interpolated AP of a ranked list of hits, written out plainly."""
    precision, recall, tp = [], [], 0
    for rank, hit in enumerate(flags, 1):
        tp += hit
        precision.append(tp / rank)
        recall.append(tp / num_gt)
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    total = 0.0
    for point in range(101):
        for p, r in zip(precision, recall, strict=True):
            if r >= point / 100 - 1e-12:
                total += p
                break
    return total / 101


def gt_counts(frames: list[dict]) -> dict[int, int]:
    """Ground truths per label over all ``frames`` (labels without any left out)."""
    labels = np.concatenate([f["gt_labels"] for f in frames])
    return {lab: int(np.sum(labels == lab)) for lab in LABELS if np.any(labels == lab)}


def assert_never_overclaims(name: str, wrong: int, trials: int) -> None:
    """A sound reading: its rate's upper bound is ≤ ALPHA (logged), and, the bound being
    deterministic given the bounds, not one trial overclaims."""
    assert_sound(name, wrong, trials, ALPHA)
    assert wrong == 0
