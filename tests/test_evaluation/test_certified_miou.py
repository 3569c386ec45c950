"""Certified IoU and mIoU against the exact worst case, found by trying every class for
every abstained pixel (docs/certificates.md §4, "Figures over a data set")."""

import itertools
from fractions import Fraction

import numpy as np
import pytest

from adcert.evaluation.certified_miou import certified_miou, worst_case_iou

ABSTAIN = 255


def counts(gt: np.ndarray, certified: np.ndarray, classes: int):
    """(intersect, union, abstained per ground-truth class) of a certified map, with
    abstentions as no class, as CertifiedSegMetric pools them."""
    kept = certified != ABSTAIN
    intersect = np.bincount(gt[kept & (certified == gt)], minlength=classes)
    predicted = np.bincount(certified[kept], minlength=classes)
    union = predicted + np.bincount(gt, minlength=classes) - intersect
    return intersect, union, np.bincount(gt[~kept], minlength=classes)


def exact_iou(gt: np.ndarray, pred: np.ndarray, classes: int) -> list[Fraction | None]:
    both = np.bincount(gt[pred == gt], minlength=classes)
    union = np.bincount(pred, minlength=classes) + np.bincount(gt, minlength=classes) - both
    return [Fraction(int(i), int(u)) if u else None for i, u in zip(both, union, strict=True)]


def exact_miou(gt: np.ndarray, pred: np.ndarray, classes: int) -> Fraction:
    present = [v for v in exact_iou(gt, pred, classes) if v is not None]
    return sum(present, Fraction(0)) / len(present)


def attacked_maps(certified: np.ndarray, classes: int):
    """Every output the attacked smoothed segmenter can give: certified pixels kept,
    abstained ones any class."""
    free = np.flatnonzero(certified == ABSTAIN)
    for choice in itertools.product(range(classes), repeat=len(free)):
        pred = certified.copy()
        pred[free] = choice
        yield pred


def random_case(rng, classes: int, pixels: int):
    gt = rng.integers(0, classes - 1, pixels)  # the last class never in the ground truth
    certified = np.where(rng.random(pixels) < 0.7, gt, rng.integers(0, classes, pixels))
    free = rng.choice(pixels, size=rng.integers(0, min(pixels, 5) + 1), replace=False)
    certified[free] = ABSTAIN
    return gt, certified


def test_the_issue_case_is_tight():
    # gt 0 0 1 1, certified 0 0 1 and one abstention, three classes: the certified map
    # scores 0.75, the attack that sends the abstained pixel to the absent class 2 0.5.
    gt, certified = np.array([0, 0, 1, 1]), np.array([0, 0, 1, ABSTAIN])
    assert certified_miou(*counts(gt, certified, 3)) == 0.5
    assert min(exact_miou(gt, p, 3) for p in attacked_maps(certified, 3)) == Fraction(1, 2)


@pytest.mark.parametrize("seed", range(40))
def test_bounds_never_exceed_the_exact_worst_case(seed):
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 5))
    gt, certified = random_case(rng, classes, int(rng.integers(3, 9)))
    maps = list(attacked_maps(certified, classes))
    worst = min(exact_miou(gt, p, classes) for p in maps)
    bound = certified_miou(*counts(gt, certified, classes))
    assert Fraction(bound) <= worst
    # Per class the bound is the exact worst case (a class that can never be scored: nan).
    per_class = worst_case_iou(*counts(gt, certified, classes))
    for c in range(classes):
        seen = [v[c] for v in (exact_iou(gt, p, classes) for p in maps) if v[c] is not None]
        if not seen:
            assert np.isnan(per_class[c])
        else:
            assert Fraction(per_class[c]) <= min(seen)
            assert per_class[c] == pytest.approx(float(min(seen)), abs=1e-15)


def test_without_abstentions_it_is_the_maps_own_miou():
    gt, certified = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 2])
    bound = certified_miou(*counts(gt, certified, 4))
    assert bound == pytest.approx(float(exact_miou(gt, certified, 4)), abs=1e-15)
    assert Fraction(bound) <= exact_miou(gt, certified, 4)


def test_large_counts_use_the_dual_bound():
    # Pooled counts of a data-set size: no enumeration, but the bound must lie between the
    # per-class worst cases' mean over every class (everything at once, unreachable) and
    # the certified map's own mIoU.
    intersect = np.array([90_000, 20_000, 3_000, 0])
    union = np.array([100_000, 25_000, 4_000, 0])
    abstained = np.array([8_000, 2_000, 500, 0])
    bound = certified_miou(intersect, union, abstained)
    own = np.mean(intersect[:3] / union[:3])
    floor = np.sum(worst_case_iou(intersect, union, abstained)[:3]) / 4
    assert floor <= bound < own


def test_nothing_to_score_is_none():
    assert certified_miou([0, 0], [0, 0], [0, 0]) is None
