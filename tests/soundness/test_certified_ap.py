"""Certified AP@50 against brute force: on 1000 random small frames with overlapping ground
truths and boxes with random bounds, the certified AP must not exceed the AP of any
output the bounds admit. The outputs enumerated are every combination of corner boxes,
score extremes, label choices and, where a slot may vanish or appear, its absence.

The bound is deterministic given the bounds, so a sound definition makes no wrong
certificate at all; Chiang et al.'s greedy reading, run as the broken variant, must be
caught overclaiming.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from adcert.evaluation.certified_ap import (
    average_precision,
    certified_frame,
    chiang_frame,
    dataset_ap,
    worst_case_lists,
)
from adcert.evaluation.certified_ap import certified_ap as certified_ap_of
from tests.soundness import _certified_ap_helpers as helpers
from tests.soundness._certified_ap_helpers import ALPHA, BOTTOM, SIZE, TOP
from tests.soundness.harness import assert_caught, assert_sound


def random_frame(rng: np.random.Generator, slots: int) -> dict:
    """2–4 ground truths of two labels crowded in one corner, ``slots`` smoothed boxes
    near them with random bounds (some may vanish, some labels uncertified) and at most
    one slot that may appear."""
    g = int(rng.integers(2, 5))
    centre = rng.uniform(40, 80, (g, 2))
    half = rng.uniform(10, 22, (g, 2))
    gt = np.concatenate([centre - half, centre + half], axis=1)
    gt_labels = (rng.random(g) < 0.25).astype(int)
    boxes = []
    for _ in range(slots):
        near = gt[rng.integers(g)] + rng.normal(0, 4, 4)
        near[2:] = np.maximum(near[2:], near[:2] + 2)
        width = rng.uniform(0, 8, 4)
        lower, upper = near - width, near + rng.uniform(0, 8, 4)
        vanish = rng.random() < 0.2
        label = int(gt_labels[rng.integers(g)]) if rng.random() < 0.9 else 1
        certified = rng.random() < 0.85
        s_low = rng.uniform(0, 1)
        # A box that may vanish has x1, y1 unbounded above and x2, y2 unbounded below
        # (as certify_boxes gives it), or, sometimes, no bound at all.
        loose = vanish and rng.random() < 0.3
        boxes.append({
            "bbox": list(near),
            "lower": [None] * 4 if loose else [*lower[:2], *(
                [None, None] if vanish else lower[2:])],
            "upper": [None] * 4 if loose else [*([None, None] if vanish else upper[:2]),
                                               *upper[2:]],
            "label": label, "label_certified": certified and not vanish,
            "label_range": [label, label] if certified else [0, None],
            "may_vanish": bool(vanish), "score": s_low + 0.05,
            "score_lower": float(s_low), "score_upper": None if vanish else s_low + 0.2})
    may_appear = []
    if rng.random() < 0.3:
        near = gt[rng.integers(g)] + rng.normal(0, 4, 4)
        may_appear.append({"lower": list(near - 3), "upper": list(near + 3),
                           "score_upper": float(rng.uniform(0, 1)),
                           "label_range": [int(rng.integers(2)), None]})
    return {"gt": gt, "gt_labels": gt_labels, "boxes": boxes, "may_appear": may_appear}


def _options(lower, upper, scores, labels, optional: bool, gt: np.ndarray) -> list:
    """Distinct outcomes of one slot (``helpers.corner_outcomes``): open bounds reach −∞
    below and the image edge above."""
    lower, upper = helpers.finite(lower, -np.inf), helpers.finite(upper, SIZE)
    return helpers.corner_outcomes(lower, upper, scores, labels, optional, gt)


def slot_options(frame: dict) -> list[list]:
    options, gt = [], frame["gt"]
    for b in frame["boxes"]:
        low, high = b["label_range"]
        labels = [low] if high == low else [0, 1]
        scores = [b["score_lower"], TOP if b["score_upper"] is None else b["score_upper"]]
        options.append(_options(b["lower"], b["upper"], scores, labels, b["may_vanish"], gt))
    for m in frame["may_appear"]:
        scores = [BOTTOM, TOP if m["score_upper"] is None else m["score_upper"]]
        low, high = m["label_range"]
        labels = [lab for lab in (0, 1) if low <= lab and (high is None or lab <= high)]
        options.append(_options(m["lower"], m["upper"], scores, labels, True, gt))
    return options


def frame_ap(gt_labels: np.ndarray, chosen) -> float:
    """Mean over labels with ground truth of the AP of one output: greedy matching by
    score (each detection takes the unmatched truth of its label it overlaps most)."""
    lists = helpers.greedy_lists(chosen, gt_labels)
    labels, counts = np.unique(gt_labels, return_counts=True)
    aps = [helpers.interpolated_ap([hit for _, hit in lists.get(int(lab), [])], int(c))
           for lab, c in zip(labels, counts, strict=True)]
    return float(np.mean(aps))


def _mean_ap(scored: dict, gt_labels: np.ndarray) -> float:
    aps = [average_precision(scored.get(label, []), int(np.sum(gt_labels == label)))
           for label in np.unique(gt_labels)]
    return float(np.mean(aps))


def min_ap(frame: dict) -> float:
    return min(frame_ap(frame["gt_labels"], chosen)
               for chosen in itertools.product(*slot_options(frame)))


def certified_ap(frame: dict) -> float:
    result = certified_frame(frame["gt"], frame["gt_labels"], frame["boxes"],
                             frame["may_appear"])
    return _mean_ap(worst_case_lists(result, (0, 1)), frame["gt_labels"])


def chiang_ap(frame: dict) -> float:
    return _mean_ap(chiang_frame(frame["gt"], frame["gt_labels"], frame["boxes"]),
                    frame["gt_labels"])


@functools.cache
def count_overclaims(reading, frames: int, slots: int, seed: int) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    wrong = 0
    for _ in range(frames):
        frame = random_frame(rng, slots)
        wrong += reading(frame) > min_ap(frame) + 1e-12
    return wrong, frames


def test_certified_ap_never_exceeds_any_admitted_output():
    wrong, trials = count_overclaims(certified_ap, 1000, 2, seed=0)
    helpers.assert_never_overclaims("certified AP@50 vs enumeration (2 slots)", wrong, trials)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="broken variant: Chiang's greedy reading overclaims")
def test_chiang_reading_is_caught():
    wrong, trials = count_overclaims(chiang_ap, 1000, 2, seed=1)
    assert_sound("broken: Chiang's greedy certified matching", wrong, trials, ALPHA)


def test_chiang_reading_overclaims_significantly():
    wrong, trials = count_overclaims(chiang_ap, 1000, 2, seed=1)
    assert_caught("Chiang's greedy certified matching", wrong, trials, ALPHA)


@pytest.mark.soundness
def test_certified_ap_never_exceeds_any_admitted_output_three_slots():
    wrong, trials = count_overclaims(certified_ap, 1000, 3, seed=2)
    helpers.assert_never_overclaims("certified AP@50 vs enumeration (3 slots)", wrong, trials)


def test_dataset_level_bound():
    """Over several frames together (AP pools the ranked lists), the bound holds against
    the worst of many random admitted outputs per frame."""
    rng = np.random.default_rng(3)
    for _ in range(30):
        frames = [random_frame(rng, 2) for _ in range(3)]
        counts = helpers.gt_counts(frames)
        labels = sorted(counts)
        bound = certified_ap_of([certified_frame(f["gt"], f["gt_labels"], f["boxes"],
                                                 f["may_appear"]) for f in frames],
                                counts, labels)
        options = [slot_options(f) for f in frames]
        for _ in range(200):
            pooled = [helpers.greedy_lists([o[rng.integers(len(o))] for o in opts], f["gt_labels"])
                      for f, opts in zip(frames, options, strict=True)]
            attacked = dataset_ap(pooled, counts, labels)
            assert np.mean(list(bound.values())) <= np.mean(list(attacked.values())) + 1e-12
