"""Non-maximum suppression after smoothing, with what the bounds certify about it
(docs/certified_ap.md, "Suppression after smoothing").

Sort-and-bin can give one object two slots (its boxes split between neighbouring slots
across noisy copies); their medians are near-duplicates. The smoothed detector may apply
greedy per-class NMS to its median boxes — a fixed function of the smoothed output, so
the bounds of :func:`adcert.certify.detection.certify_boxes` still describe what it can
output under attack:

- slot A *may suppress* slot B when A may be present, their labels may agree, A's score
  may be ≥ B's, and an upper bound of their IoU over the bounds is > the threshold;
- A is *certainly kept* when no slot may suppress it;
- A *certainly suppresses* B when A is certainly present and kept with B's label, A's
  lowest score is above B's highest, and their worst-case IoU over both boxes' bounds
  (the 16 × 16 corner pairs: IoU is quasi-concave in each coordinate) is > the threshold.

B is then absent from every attacked output and leaves the certificate; a box that some
slot only *may* suppress may vanish. On the clean frame, greedy NMS of the medians runs as
usual; a box it suppresses that is not certainly suppressed becomes a may-appear slot.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from adcert.certify.detection import (
    _CORNERS,
    IOU_ROUNDING,
    AppearingSlot,
    BoxCertificate,
    DetectionCertificate,
    box_iou,
    iou_upper_bound,
)
from adcert.stats._rounding import step_down, step_up


def _corner_boxes(lower, upper) -> np.ndarray:
    return np.where(_CORNERS, np.asarray(upper, float), np.asarray(lower, float))


def worst_pair_iou(a_lower, a_upper, b_lower, b_upper) -> float:
    """A lower bound on the exact IoU of two boxes each anywhere inside its bounds: the
    smallest over the 16 × 16 corner pairs, lowered by :data:`IOU_ROUNDING` (0 if a bound
    is infinite)."""
    bounds = np.array([a_lower, a_upper, b_lower, b_upper], dtype=float)
    if not np.all(np.isfinite(bounds)):
        return 0.0
    worst = float(box_iou(_corner_boxes(a_lower, a_upper), _corner_boxes(b_lower, b_upper)).min())
    return max(0.0, float(step_down(worst - IOU_ROUNDING))) if worst > 0 else 0.0


@dataclasses.dataclass
class _Slot:
    lower: tuple
    upper: tuple
    label_low: float
    label_high: float
    score_low: float
    score_high: float
    present: bool  # present in every attacked output, label certified
    label: int | None
    source: BoxCertificate | AppearingSlot


def _slots(cert: DetectionCertificate) -> list[_Slot]:
    out = [_Slot(b.lower, b.upper, *b.label_range, b.score_lower, b.score_upper,
                 b.label_certified and not b.may_vanish, b.label, b) for b in cert.boxes]
    out += [_Slot(m.lower, m.upper, *m.label_range, -np.inf, m.score_upper, False, None, m)
            for m in cert.may_appear]
    return out


# The attacked detector's NMS compares box_iou, a computed IoU, with the threshold: the
# exact bounds below are widened by its rounding once more (docs/certified_ap.md).
def _may_suppress(a: _Slot, b: _Slot, iou_thr: float) -> bool:
    labels_meet = a.label_low <= b.label_high and b.label_low <= a.label_high
    highest = step_up(iou_upper_bound(a.lower, a.upper, b.lower, b.upper) + IOU_ROUNDING)
    return labels_meet and a.score_high >= b.score_low and highest > iou_thr


def _certainly_suppresses(a: _Slot, b: _Slot, iou_thr: float) -> bool:
    lowest = step_down(worst_pair_iou(a.lower, a.upper, b.lower, b.upper) - IOU_ROUNDING)
    return (a.present and a.label_low == a.label_high == b.label_low == b.label_high
            and a.score_low > b.score_high and lowest > iou_thr)


def _surely_kept(may: np.ndarray) -> np.ndarray:
    """Slots no other slot may suppress: NMS keeps them in every attacked output."""
    return ~may.any(axis=0)


def _nms_on_medians(boxes: list[BoxCertificate], iou_thr: float) -> set[int]:
    """Indices greedy per-label NMS keeps among the smoothed (median) boxes."""
    order = sorted(range(len(boxes)), key=lambda i: -boxes[i].score)
    kept: list[int] = []
    for i in order:
        b = boxes[i]
        if all(boxes[k].label != b.label or box_iou(np.array([boxes[k].bbox]), np.array([b.bbox]))
               [0, 0] <= iou_thr for k in kept):
            kept.append(i)
    return set(kept)


def suppress_duplicates(cert: DetectionCertificate, iou_thr: float = 0.5) -> DetectionCertificate:
    """The certificate of the smoothed detector followed by greedy per-label NMS at
    ``iou_thr`` (see the module doc). Holds with the probability of ``cert``: it only
    combines the bounds ``cert`` already states."""
    if not 0.0 <= iou_thr < 1.0:
        raise ValueError(f"iou_thr must lie in [0, 1), got {iou_thr}")
    slots = _slots(cert)
    count = len(slots)
    may = np.array([[i != j and _may_suppress(slots[i], slots[j], iou_thr)
                     for j in range(count)] for i in range(count)]).reshape(count, count)
    kept_surely = _surely_kept(may)
    gone = np.array([any(kept_surely[i] and _certainly_suppresses(slots[i], slots[j], iou_thr)
                         for i in range(count) if i != j) for j in range(count)], dtype=bool)
    threatened = (may & ~gone[:, None]).any(axis=0)
    shown = _nms_on_medians(list(cert.boxes), iou_thr)
    boxes, appearing = [], []
    for j, slot in enumerate(slots):
        if gone[j]:
            continue
        source = slot.source
        if isinstance(source, AppearingSlot):
            appearing.append(source)
        elif j not in shown:  # suppressed on the clean frame, not for every attack
            appearing.append(AppearingSlot(source.lower, source.upper, source.score_upper,
                                           source.label_range, source.bin_key))
        else:
            boxes.append(dataclasses.replace(source, may_vanish=source.may_vanish
                                             or bool(threatened[j])))
    return dataclasses.replace(cert, boxes=tuple(boxes), may_appear=tuple(appearing),
                               suppression_iou=float(iou_thr))
