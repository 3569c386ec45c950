import numpy as np
import pytest

from adcert.evaluation.certified_ap import (
    AP_ROUNDING,
    certified_ap,
    certified_frame,
    coco_iou_margin,
    failure_probability,
    worst_case_lists,
)

GT = np.array([[10.0, 10.0, 50.0, 50.0]])


def exact_box(box, label=0, score=0.5, **extra):
    return {"bbox": list(box), "lower": list(box), "upper": list(box), "label": label,
            "label_certified": True, "label_range": [label, label], "may_vanish": False,
            "score": score, "score_lower": score, "score_upper": score, **extra}


def far_slot(score_upper, label_range, corner=300.0):
    box = [corner, corner, corner + 20, corner + 20]
    return {"lower": box, "upper": box, "score_upper": score_upper, "label_range": label_range}


def test_a_slot_enters_every_label_its_interval_holds_even_without_truth_here():
    frame = certified_frame(GT, [0], [exact_box(GT[0])],
                            [far_slot(0.9, [1, None]), far_slot(0.8, [0, 2])])
    lists = worst_case_lists(frame, (0, 1, 2, 3))
    assert lists[0] == [(0.8, False), (0.5, True)]
    assert lists[1] == [(0.9, False), (0.8, False)]
    assert lists[2] == [(0.9, False), (0.8, False)]
    assert lists[3] == [(0.9, False)]
    assert frame["num_gt"] == {0: 1} and frame["certified_tp"] == 1


def test_the_cap_cuts_each_frame_and_label_to_its_top_entries_false_positives_first():
    boxes = [exact_box(GT[0], score=0.5)]
    slots = [far_slot(0.5, [0, 0], corner=100.0 + k) for k in range(3)]
    frame = certified_frame(GT, [0], boxes, slots, max_dets=3)
    # Three slots may reach the certain box's score: it could be pushed out of the top 3.
    assert frame["certified_tp"] == 0
    assert worst_case_lists(frame, (0,))[0] == [(0.5, False)] * 3
    frame = certified_frame(GT, [0], boxes, slots[:2], max_dets=3)
    assert frame["certified_tp"] == 1  # two cannot: it keeps a place in the top 3
    assert worst_case_lists(frame, (0,))[0] == [(0.5, False), (0.5, False), (0.5, True)]


def test_certified_ap_is_lowered_below_pycocotools_arithmetic():
    frame = certified_frame(GT, [0], [exact_box(GT[0])])
    ap = certified_ap([frame], {0: 1}, [0, 1])
    assert 1.0 - 2 * AP_ROUNDING <= ap[0] < 1.0 and np.isnan(ap[1])


def test_coco_iou_margin():
    margin = coco_iou_margin(GT[0], GT[0])
    # 2⁻⁴⁸ + 2⁻⁵⁰ · 50 · (1/40 + 1/40), a few times 10⁻¹⁵.
    assert margin == pytest.approx(2.0**-48 + 2.0**-50 * 2.5, rel=1e-12)
    assert coco_iou_margin([0, 0, np.inf, 10], GT[0]) == np.inf
    assert coco_iou_margin(GT[0], [10, 10, 10, 50]) == np.inf  # a degenerate truth
    assert coco_iou_margin(GT[0], [1e9, 0, 1e9 + 1e-5, 1e-5]) == np.inf  # past the proof


def test_failure_probability():
    record = {"possible_bins": 8, "alpha_per_bound": 1e-4, "observed_slots": 5,
              "boxes": [], "may_appear": []}
    # 12 bounds per slot shown, 2 per bin that could form.
    assert failure_probability(record) == pytest.approx(1e-4 * (12 * 5 + 2 * 8))
    assert failure_probability(record) >= 1e-4 * (12 * 5 + 2 * 8)
    # Never above the union bound over every slot the settings allow.
    assert failure_probability({**record, "slot_family": 4}) == pytest.approx(1e-4 * 48)
    assert failure_probability({**record, "possible_bins": None}) is None
    assert failure_probability({**record, "alpha_per_bound": 0.5}) == 1.0
