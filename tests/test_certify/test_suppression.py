import json

import numpy as np
import pytest

from adcert.certify.detection import BoxCertificate, DetectionCertificate, iou_upper_bound
from adcert.certify.suppression import suppress_duplicates, worst_pair_iou


def box(bbox, width=1.0, score=(0.8, 0.9), label=0, **kwargs):
    bbox = np.asarray(bbox, dtype=float)
    values = dict(bbox=tuple(bbox), lower=tuple(bbox - width), upper=tuple(bbox + width),
                  label=label, label_certified=True, may_vanish=False, score=sum(score) / 2,
                  bin_key=(None, label), score_lower=score[0], score_upper=score[1],
                  label_range=(label, label))
    values.update(kwargs)
    return BoxCertificate(**values)


def certificate(*boxes):
    return DetectionCertificate(tuple(boxes), 0.1, 0.25, 100, 1e-3, 1e-3 / 12, "box", "label",
                                "score", observed_slots=len(boxes))


def test_a_duplicate_below_a_certainly_kept_box_is_removed():
    strong = box([10, 10, 50, 50], score=(0.8, 0.9))
    duplicate = box([12, 11, 52, 50], score=(0.3, 0.5))
    elsewhere = box([100, 100, 140, 140], score=(0.1, 0.2))
    after = suppress_duplicates(certificate(strong, duplicate, elsewhere), 0.5)
    assert [b.bbox for b in after.boxes] == [strong.bbox, elsewhere.bbox]
    assert not any(b.may_vanish for b in after.boxes) and after.may_appear == ()
    assert after.observed_slots == 3 and after.suppression_iou == 0.5
    json.dumps(after.to_record(), allow_nan=False)


def test_uncertain_order_leaves_both_but_either_may_vanish():
    a = box([10, 10, 50, 50], score=(0.4, 0.7))
    b = box([12, 11, 52, 50], score=(0.5, 0.6))  # median 0.55 ≥ a's 0.55: scores overlap
    after = suppress_duplicates(certificate(a, b), 0.5)
    shown = {x.bbox for x in after.boxes}
    hidden = {x.lower for x in after.may_appear}
    assert len(shown) == 1 and len(hidden) == 1  # NMS of the medians keeps one
    assert all(x.may_vanish for x in after.boxes)


def test_other_labels_and_small_overlaps_are_left_alone():
    a = box([10, 10, 50, 50])
    other_label = box([10, 10, 50, 50], label=1, score=(0.1, 0.2))
    far = box([45, 45, 90, 90], score=(0.1, 0.2))
    after = suppress_duplicates(certificate(a, other_label, far), 0.5)
    assert len(after.boxes) == 3 and not any(b.may_vanish for b in after.boxes)


def test_a_suppressor_that_may_itself_be_suppressed_removes_nothing():
    top = box([10, 10, 50, 50], score=(0.9, 0.95), width=6.0)  # loose: may reach `middle`
    middle = box([14, 14, 54, 54], score=(0.5, 0.6))
    low = box([16, 15, 56, 54], score=(0.1, 0.2))
    after = suppress_duplicates(certificate(top, middle, low), 0.7)
    assert worst_pair_iou(middle.lower, middle.upper, low.lower, low.upper) > 0.7
    assert iou_upper_bound(top.lower, top.upper, middle.lower, middle.upper) > 0.7
    assert len(after.boxes) + len(after.may_appear) == 3  # `low` is not certainly gone


def test_pair_iou_bounds_bracket_sampled_boxes():
    rng = np.random.default_rng(0)
    for _ in range(200):
        a_low = rng.uniform(0, 50, 4) + [0, 0, 50, 50]
        b_low = a_low + rng.normal(0, 8, 4)
        a_up, b_up = a_low + rng.uniform(0, 10, 4), b_low + rng.uniform(0, 10, 4)
        lo = worst_pair_iou(a_low, a_up, b_low, b_up)
        hi = iou_upper_bound(a_low, a_up, b_low, b_up)
        for _ in range(50):
            a, b = rng.uniform(a_low, a_up), rng.uniform(b_low, b_up)
            ix = (max(min(a[2], b[2]) - max(a[0], b[0]), 0)
                  * max(min(a[3], b[3]) - max(a[1], b[1]), 0))
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix
            assert lo - 1e-12 <= ix / union <= hi + 1e-12


def test_pair_iou_upper_bound_is_tighter_than_the_larger_area_alone():
    # A₀ = B₀ = 100, outer boxes meet over 50: IoU ≤ 50 / (50 + 50 + 50) = 1/3, where
    # "intersection over the larger smallest area" gave 1/2.
    a_low, a_up = [0, 0, 10, 10], [0, 0, 10, 10]
    b_low, b_up = [5, 0, 15, 10], [5, 0, 15, 10]
    assert iou_upper_bound(a_low, a_up, b_low, b_up) == pytest.approx(1 / 3)
    assert iou_upper_bound(a_low, a_up, b_low, b_up) >= 1 / 3  # never below the exact IoU
    # A fixed ground truth is the case lower = upper; unbounded boxes reach IoU 1.
    inf = np.inf
    assert iou_upper_bound([-inf, -inf, -inf, -inf], [inf, inf, inf, inf],
                           b_low, b_up) == 1.0
    assert iou_upper_bound([20, 20, 30, 30], [21, 21, 31, 31], b_low, b_up) == 0.0


def test_threshold_is_checked():
    with pytest.raises(ValueError, match="iou_thr"):
        suppress_duplicates(certificate(), 1.0)
