"""The failure bound of certified AP@50 against a model whose truth is known.

``failure_probability`` counts the slots the samples showed — a family chosen by the data
— plus two bounds per possible bin (docs/certified_ap.md, "With which probability"). The
proof says the result B is valid in this sense: for every b, P(some statement of the
frame is wrong and B ≤ b) ≤ b. Here each bin's boxes come from a known law: a nested
number of boxes per copy (slot j filled with probability q_j, slot j + 1 only when slot j
is), uniform coordinates, a score fixed by rank. So every slot's exact percentiles are
known, and a trial's statements are wrong when a reported bound lies on the wrong side of
its exact percentile (at the levels Φ(∓ε/σ)) or a slot left out has q_j ≥ p_l (an attack
could make it appear).

Presence probabilities sit near p_l, where slots are shown or left out by chance. Broken
variants, each a strict xfail: dropping the per-bin terms, and counting only the 12 bounds
of each box the smoothed detector shows (forgetting may-appear slots and bins).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.stats import norm

from adcert.certify.detection import certify_boxes
from adcert.evaluation.certified_ap import failure_probability
from tests.soundness.harness import assert_caught, assert_sound

EPS, SIGMA, N, ALPHA_PER_BOUND = 0.125, 0.25, 50, 0.05
P_LOW = float(norm.cdf(-EPS / SIGMA))  # the exact level; certify_boxes rounds it down
P_HIGH = 1.0 - P_LOW
MAX_PER_BIN = 3
# Per rank: x1, y1, x2, y2 uniform on [low, low + 10] (bin b shifts x by 100·b); score and
# label fixed.
COORD_LOW = np.array([20.0, 20.0, 70.0, 70.0])
SCORES = (0.9, 0.8, 0.7)
THRESHOLDS = (0.005, 0.05, 0.1, 0.2, 0.5)


def _percentile(p: float, q: float, low: float, high: float, missing: float) -> float:
    """The p-th percentile of a column whose value is uniform on [low, high] when the slot
    is filled (probability q) and ``missing`` (±∞) otherwise."""
    if missing > 0:  # +∞ when empty: P(Y ≤ t) = q · F(t)
        return low + (high - low) * p / q if p < q else np.inf
    absent = 1.0 - q  # −∞ when empty: P(Y ≤ t) = 1 − q + q · F(t)
    return -np.inf if p <= absent else low + (high - low) * (p - absent) / q


def _column_ranges(bin_index: int, rank: int) -> list[tuple[float, float, float]]:
    """(low, high, value when missing) of the 6 columns of one slot."""
    low = COORD_LOW + [100.0 * bin_index, 0, 100.0 * bin_index, 0]
    coords = [(lo, lo + 10.0, m) for lo, m in zip(low, (np.inf, np.inf, -np.inf, -np.inf),
                                                  strict=True)]
    return coords + [(SCORES[rank], SCORES[rank], -np.inf), (0.0, 0.0, np.inf)]


def _wrong_claims(slot: dict, q: float, ranges) -> bool:
    """A reported slot's bounds against its exact percentiles (the record's fields)."""
    lower = [*slot["lower"], slot.get("score_lower"), slot["label_range"][0]]
    upper = [*slot["upper"], slot["score_upper"], slot["label_range"][1]]
    for k, (low, high, missing) in enumerate(ranges):  # a may-appear slot: no score_lower
        lo = -np.inf if lower[k] is None else lower[k]
        up = np.inf if upper[k] is None else upper[k]
        if lo > _percentile(P_LOW, q, low, high, missing):
            return True
        if up < _percentile(P_HIGH, q, low, high, missing):
            return True
    return False


def random_trial(rng: np.random.Generator) -> tuple[dict, bool]:
    """One frame: its certificate's record and whether any of its statements is wrong."""
    bins = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
    arrays, presence = {}, []
    for b in range(bins):
        q = [P_LOW * rng.uniform(0.95, 1.15)]  # slot 0 near the edge of being shown
        for _ in range(MAX_PER_BIN - 1):
            q.append(q[-1] * rng.uniform(0.3, 1.0))
        presence.append(q)
        filled = rng.random(N)[:, None] < np.array(q)[None, :]  # nested: q falls with j
        values = np.full((N, MAX_PER_BIN, 6), np.inf)
        for j in range(MAX_PER_BIN):
            low, high = zip(*[(lo, hi) for lo, hi, _ in _column_ranges(b, j)], strict=True)
            draws = rng.uniform(low, high, (N, 6))
            values[filled[:, j], j] = draws[filled[:, j]]
        arrays[(b, None)] = values
    cert = certify_boxes(arrays, N, EPS, SIGMA, ALPHA_PER_BOUND, correction="none",
                         bin="location", sort="score")
    record = {**cert.to_record(), "possible_bins": bins, "slot_family": bins * MAX_PER_BIN}
    wrong = False
    for b, q in enumerate(presence):
        # Within a bin, the shown boxes are its first slots and the may-appear ones follow.
        shown = [r for r, c in zip(record["boxes"], cert.boxes, strict=True)
                 if c.bin_key == (b, None)]
        shown += [r for r, c in zip(record["may_appear"], cert.may_appear, strict=True)
                  if c.bin_key == (b, None)]
        for j in range(MAX_PER_BIN):
            if j < len(shown):
                wrong |= _wrong_claims(shown[j], q[j], _column_ranges(b, j))
            else:
                wrong |= q[j] >= P_LOW  # left out, yet an attack could make it appear
    return record, wrong


def _without_bins(record: dict) -> float:
    return min(1.0, record["alpha_per_bound"] * 12 * record["observed_slots"])


def _boxes_only(record: dict) -> float:
    return min(1.0, record["alpha_per_bound"] * 12 * len(record["boxes"]))


@functools.cache
def trials(count: int, seed: int) -> tuple[tuple[dict, bool], ...]:
    rng = np.random.default_rng(seed)
    return tuple(random_trial(rng) for _ in range(count))


def wrong_below(bound, threshold: float, count: int = 3000, seed: int = 0) -> int:
    """Trials whose statements are wrong while ``bound`` reports at most ``threshold``."""
    return sum(wrong and bound(record) <= threshold for record, wrong in trials(count, seed))


@pytest.mark.soundness
@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_observed_count_bound_is_valid(threshold):
    wrong = wrong_below(failure_probability, threshold)
    assert_sound(f"failure bound: P(wrong, bound ≤ {threshold})", wrong, 3000, threshold)


@pytest.mark.soundness
def test_the_model_makes_wrong_statements():
    """The check has something to find: statements are wrong in a fair share of trials."""
    assert sum(wrong for _, wrong in trials(3000, 0)) > 150


# The broken variants of the module docstring: each must fail assert_sound (a strict
# xfail) and be seen by assert_caught (the lower bound of its rate above the threshold).
BROKEN_BOUNDS = [
    pytest.param(_without_bins, "failure bound without per-bin terms", id="without-bin-terms"),
    pytest.param(_boxes_only, "failure bound over shown boxes only", id="shown-boxes-only"),
]


@pytest.mark.soundness
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="broken variant: no per-bin terms, or only the boxes shown counted")
@pytest.mark.parametrize("bound, name", BROKEN_BOUNDS)
def test_a_broken_bound_is_caught(bound, name):
    wrong = wrong_below(bound, THRESHOLDS[0])
    assert_sound(f"broken: {name}", wrong, 3000, THRESHOLDS[0])


@pytest.mark.soundness
@pytest.mark.parametrize("bound, name", BROKEN_BOUNDS)
def test_the_broken_bound_is_seen(bound, name):
    assert_caught(name, wrong_below(bound, THRESHOLDS[0]), 3000, THRESHOLDS[0])
