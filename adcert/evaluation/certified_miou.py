"""Certified IoU and mIoU: lower bounds on what the *attacked* smoothed segmenter scores
(``docs/certificates.md`` §4, "Certified IoU and mIoU").

Under every attack in the certified range a certified pixel keeps its class; an abstained
pixel may take *any* class. Counting abstentions as "no class" (as mmseg would score the
certified map) is therefore no bound: an abstained pixel becomes a false positive of some
class, and a class absent from the ground truth then enters the mean at IoU 0.

Inputs are the data set's pooled counts of the certified map, as mmseg's ``IoUMetric``
pools them: per class c, ``intersect`` I_c (certified as c and ground truth c), ``union``
U_c (ground-truth pixels of c plus pixels certified as c with another ground truth) and
``abstained`` F_c (abstained pixels whose ground truth is c); F = Σ F_c.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from adcert.stats._rounding import MP, float_down


def _counts(*arrays) -> list[np.ndarray]:
    return [np.asarray(a, dtype=np.int64).reshape(-1) for a in arrays]


def worst_case_iou(intersect, union, abstained) -> np.ndarray:
    """Per class, the smallest IoU any attack in the certified range can leave:
    I_c / (U_c + F − F_c), every abstained pixel of another class labelled c and those of
    class c labelled anything else. Exact with two or more classes; nan where the class
    can never enter the mean (U_c + F − F_c = 0)."""
    i, u, f = _counts(intersect, union, abstained)
    worst_union = u + (int(f.sum()) - f)
    # I / U rounded down: the quotient of two integers, stepped below where it rounded up.
    return np.array([float_down(MP.mpf(int(a)) / int(b)) if b > 0 else np.nan
                     for a, b in zip(i, worst_union, strict=True)])


def _least_iou_sum(i: np.ndarray, u: np.ndarray, cap: np.ndarray, budget: int):
    """A lower bound (50-digit :data:`MP`) on min Σ_c I_c / (U_c + a_c) over real a_c in
    [0, cap_c] with Σ a_c ≤ budget: the Lagrangian dual at a multiplier λ chosen so the
    inner minimisers spend the budget. Any λ ≥ 0 gives a valid bound (weak duality); that
    one gives the minimum itself."""
    keep = i > 0  # a class with I_c = 0 scores 0 however many pixels it is given
    i, u, cap = i[keep], u[keep], cap[keep]
    if len(i) == 0:
        return MP.mpf(0)
    ii, uu, cc = ([MP.mpf(int(x)) for x in arr] for arr in (i, u, cap))
    if budget == 0 or int(cap.sum()) <= budget:  # no choice left: a_c = 0, or every cap
        spend = [MP.mpf(0)] * len(ii) if budget == 0 else cc
        return MP.fsum(a / (b + t) for a, b, t in zip(ii, uu, spend, strict=True))

    def overspend(log_lam: float) -> float:
        spent = np.clip(np.sqrt(i / np.exp(log_lam)) - u, 0, cap)
        return float(spent.sum()) - budget

    # λ ≥ max I/U² spends nothing, λ ≤ min I/(U + cap)² spends every cap (> budget).
    low = float(np.log(np.min(i / (u + cap) ** 2.0))) - 1.0
    high = float(np.log(np.max(i / u ** 2.0))) + 1.0
    lam = MP.exp(MP.mpf(brentq(overspend, low, high, xtol=1e-12)))
    dual = -lam * budget
    for a, b, c in zip(ii, uu, cc, strict=True):
        t = min(max(MP.sqrt(a / lam) - b, MP.mpf(0)), c)  # the convex inner minimiser
        dual += a / (b + t) + lam * t
    return max(dual, MP.mpf(0))


def certified_miou(intersect, union, abstained) -> float | None:
    """A lower bound on the mIoU (mmseg's: the mean over classes with a non-empty union)
    of the smoothed segmenter under any attack in the certified range, given the pooled
    counts of the certified map. None when no class has a pixel to score.

    Let K0 be the classes with U_c > 0 (in the mean whatever the attack) and j ≤
    min(classes outside K0, F) the classes an attack brings in (each at IoU 0, each
    costing at least one abstained pixel). For each j the bound is S(F − j) / (|K0| + j),
    S(B) the least Σ_{K0} I_c / (U_c + a_c) with a_c ≤ F − F_c and Σ a_c ≤ B; the result is
    the smallest over j, rounded down.
    """
    i, u, f = _counts(intersect, union, abstained)
    present = u > 0
    scored = int(present.sum())
    if scored == 0:
        return None
    free = int(f.sum())
    cap = free - f
    bounds = []
    for entering in range(min(len(i) - scored, free) + 1):
        total = _least_iou_sum(i[present], u[present], cap[present], free - entering)
        bounds.append(float_down(total / (scored + entering)))
    return min(bounds)
