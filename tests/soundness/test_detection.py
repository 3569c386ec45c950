"""Soundness of median smoothing with percentile bounds (:func:`certify_boxes`).

The analytic model is a linear box regressor: one detection whose coordinates are
y = A(x + δ) + c, rows A_j orthogonal, so that under δ ~ N(0, σ²I) the four coordinates
are independent N(A_j·x + c_j, σ²‖A_j‖²) — drawn here directly — and every percentile is
exact, h_p = A_j·x + c_j + σ‖A_j‖Φ⁻¹(p). For this model h_{p_l} and h_{p_u}
(p_{l,u} = Φ(∓ε/σ)) are also exactly the smallest and largest medians an attack
‖δ'‖₂ ≤ ε can produce (A_j·x + c_j ∓ ε‖A_j‖), so the whole certificate is checked.

"May vanish" / "may appear": the box is only output where v·(x + δ) > t (v orthogonal to
the rows of A), with probability q. A missing box is +∞ in its slot, so each column's law
is a mixture and h_p = A_j·x + c_j + σ‖A_j‖Φ⁻¹(p/q) for p < q, +∞ for p ≥ q (the score
and label columns likewise). With q just below p_u the box can be attacked away, and any
finite upper bound is wrong; with q just above p_l an absent box can be attacked into
the output, and a certificate that does not report the slot as ``may_appear`` is wrong.

A certificate is wrong when any claim its guarantee covers misses: a lower bound (of a
coordinate, the score or the label range) above h_{p_l}, an upper bound below h_{p_u}, a
certified label whose percentiles are not all that label, a box not flagged
``may_vanish`` that can vanish, or a slot that can appear but is not reported. Per-box
guarantee: the bounds of a box jointly at α; per image: all boxes of the frame jointly;
per bound: each bound on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from unittest.mock import patch

import numpy as np
import pytest
from scipy.stats import norm

from adcert.certify import detection
from adcert.certify.detection import certify_boxes
from adcert.stats import order_statistic_indices
from tests.soundness.harness import assert_caught, assert_sound

ALPHA = 0.1
# Chiang et al.'s reference setting (tests/test_stats/test_order_statistics.py).
EPS, SIGMA = 0.36, 0.25
SCORE, LABEL = 0.9, 0


@dataclass(frozen=True)
class LinearBoxRegressor:
    """One box, y = A(x + δ) + c; ``spread`` = σ‖A_j‖, ``presence`` = P(box output)."""

    mean: tuple[float, ...]  # A x + c, (x1, y1, x2, y2) in pixels
    spread: tuple[float, ...]
    presence: float = 1.0

    def samples(self, rng: np.random.Generator, trials: int, n: int) -> np.ndarray:
        """(trials, n, 6) detections [x1, y1, x2, y2, score, label], +∞ rows when absent."""
        coords = np.asarray(self.mean) + np.asarray(self.spread) * rng.standard_normal(
            (trials, n, 4))
        out = np.concatenate([coords, np.full((trials, n, 1), SCORE),
                              np.full((trials, n, 1), LABEL)], axis=2)
        # Present iff v·(x + δ) > t, i.e. a standard normal beats −Φ⁻¹(q).
        absent = rng.standard_normal((trials, n)) <= -norm.ppf(self.presence)
        out[absent] = np.inf
        return out

    def percentile(self, p: float) -> np.ndarray:
        """Exact h_p of the 6 columns. A missing box counts +∞ in x1, y1 and the label and
        −∞ in x2, y2 and the score (as certify_boxes encodes it): mass 1 − q at ±∞."""
        q = self.presence
        mean = np.r_[self.mean, SCORE, LABEL]
        spread = np.r_[self.spread, 0.0, 0.0]
        low_when_missing = np.array([False, False, True, True, True, False])
        out = np.empty(6)
        high = ~low_when_missing
        if p >= q:
            out[high] = np.inf
        else:
            out[high] = mean[high] + spread[high] * norm.ppf(p / q)
        if p <= 1 - q:
            out[~high] = -np.inf
        else:
            out[~high] = mean[~high] + spread[~high] * norm.ppf((p - (1 - q)) / q)
        return out


def levels(eps: float = EPS, sigma: float = SIGMA) -> tuple[float, float]:
    return float(norm.cdf(-eps / sigma)), float(norm.cdf(eps / sigma))


@dataclass(frozen=True)
class ExactAnswer:
    """What a certificate of one slot may claim at most, for attacks of size ε."""

    lower: np.ndarray  # h_{p_l} of [x1, y1, x2, y2, score, label], missing boxes encoded
    upper: np.ndarray  # h_{p_u} of the same columns

    @classmethod
    def of(cls, model: LinearBoxRegressor, eps: float, sigma: float) -> ExactAnswer:
        p_l, p_u = levels(eps, sigma)
        return cls(model.percentile(p_l), model.percentile(p_u))

    def wrong_bounds(self, lower, upper, score_lower: float, score_upper: float,
                     label_range: tuple[float, float]) -> np.ndarray:
        """The 12 bounds: 4 coordinate lower, 4 upper, score and label (lower, upper)."""
        low = np.r_[lower, score_lower, label_range[0]]
        high = np.r_[upper, score_upper, label_range[1]]
        wrong_low, wrong_high = low > self.lower, high < self.upper
        # The label range speaks of a present box's label (absence is the may-vanish
        # claim): only a finite label percentile can prove it wrong.
        wrong_high[5] &= bool(np.isfinite(self.upper[5]))
        return np.r_[wrong_low[:4], wrong_high[:4], wrong_low[4], wrong_high[4],
                     wrong_low[5], wrong_high[5]]

    def box(self, box: detection.BoxCertificate) -> np.ndarray:
        """Per claim of an output box: its 12 bounds, a certified label, "cannot vanish"."""
        label_wrong = box.label_certified and not (
            self.lower[5] == box.label == self.upper[5])
        vanish_wrong = not box.may_vanish and bool(np.isinf(self.upper[0]))
        return np.r_[self.wrong_bounds(box.lower, box.upper, box.score_lower,
                                       box.score_upper, box.label_range),
                     label_wrong, vanish_wrong]

    def appearing(self, slot: detection.AppearingSlot) -> np.ndarray:
        """Per claim of a may-appear slot: its bounds if present (the score has only an
        upper bound)."""
        return np.r_[self.wrong_bounds(slot.lower, slot.upper, -np.inf, slot.score_upper,
                                       slot.label_range), False, False]

    def silent(self) -> np.ndarray:
        """A slot the certificate leaves out claims that no attack makes it appear."""
        return np.r_[np.zeros(12, dtype=bool), False, bool(np.isfinite(self.lower[0]))]


CLAIMS = 14


def run_trials(models: tuple[LinearBoxRegressor, ...], trials: int, n: int, alpha: float,
               correction: str, seed: int, eps: float = EPS, sigma: float = SIGMA,
               certifier=certify_boxes) -> np.ndarray:
    """(trials, slots, 14) wrong claims; one slot per model in a single bin."""
    # The "image" family: every slot a frame of this model can have, fixed in advance.
    family = len(models) if correction == "image" else None
    tests = {"box": detection.BOUNDS_PER_BOX, "none": 1,
             "image": detection.BOUNDS_PER_BOX * len(models)}[correction]
    k_lower, k_upper = order_statistic_indices(n, *levels(eps, sigma), alpha / tests)
    assert 1 <= k_lower and k_upper <= n, "every bound infinite: the check would prove nothing"
    rng = np.random.default_rng(seed)
    samples = np.stack([m.samples(rng, trials, n) for m in models], axis=2)
    exact = [ExactAnswer.of(m, eps, sigma) for m in models]
    wrong = np.zeros((trials, len(models), CLAIMS), dtype=bool)
    for t in range(trials):
        cert = certifier({(None, None): samples[t]}, n, eps, sigma, alpha, correction,
                         bin="none", slot_family=family)
        if len(models) == 1:
            (claims,) = ([exact[0].box(b) for b in cert.boxes]
                         + [exact[0].appearing(a) for a in cert.may_appear]
                         or [exact[0].silent()])
            wrong[t, 0] = claims
        else:  # always present here: one certificate per slot, in slot order
            assert len(cert.boxes) == len(models) and not cert.may_appear
            wrong[t] = [e.box(b) for e, b in zip(exact, cert.boxes, strict=True)]
    return wrong


def chiang_indices(n, p_lower, p_upper, alpha):
    """Broken on purpose: Chiang et al.'s 0-based indices used as 1-based ranks, i.e.
    every rank one sample to the right — the lower one a step too far inward."""
    k_lower, k_upper = order_statistic_indices(n, p_lower, p_upper, alpha)
    return k_lower + 1, min(k_upper + 1, n + 1)


def chiang_certify_boxes(*args, **kwargs):
    with patch.object(detection, "order_statistic_indices", chiang_indices):
        return certify_boxes(*args, **kwargs)


REGRESSOR = LinearBoxRegressor(mean=(100.0, 80.0, 180.0, 150.0), spread=(8.0, 5.0, 12.0, 6.0))
# Present with probability just below p_u: the attack can remove the box.
VANISHING = LinearBoxRegressor(REGRESSOR.mean, REGRESSOR.spread,
                               presence=levels()[1] - 0.002)
# Present with probability just above p_l: absent from the smoothed output, but an attack
# can make it appear.
APPEARING = LinearBoxRegressor(REGRESSOR.mean, REGRESSOR.spread,
                               presence=levels()[0] + 0.002)


@cache
def per_box_wrong(model: LinearBoxRegressor, trials: int, n: int, seed: int,
                  broken: bool = False) -> int:
    certifier = chiang_certify_boxes if broken else certify_boxes
    wrong = run_trials((model,), trials, n, ALPHA, "box", seed, certifier=certifier)
    return int(np.count_nonzero(wrong.any(axis=(1, 2))))


def test_linear_box_regressor_per_box():
    assert_sound("detection: linear box regressor, per box (n=64)",
                 per_box_wrong(REGRESSOR, 2000, 64, 11), 2000, ALPHA)


def test_box_that_may_vanish_per_box():
    assert_sound("detection: box that may vanish, per box (n=64)",
                 per_box_wrong(VANISHING, 2000, 64, 12), 2000, ALPHA)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="broken on purpose: Chiang's off-by-one lower order statistic")
def test_broken_chiang_lower_index_is_unsound():
    assert_sound("broken: detection with Chiang's off-by-one lower index",
                 per_box_wrong(REGRESSOR, 2000, 64, 13, broken=True), 2000, ALPHA)


def test_suite_sees_chiang_lower_index_violation():
    assert_caught("broken: detection with Chiang's off-by-one lower index",
                  per_box_wrong(REGRESSOR, 2000, 64, 13, broken=True), 2000, ALPHA)


@pytest.mark.soundness
@pytest.mark.parametrize("model, name", [(REGRESSOR, "linear box regressor"),
                                         (VANISHING, "box that may vanish"),
                                         (APPEARING, "box that may appear")])
@pytest.mark.parametrize("n", [100, 150, 200])
def test_per_box_full(model, name, n):
    trials = 5000
    assert_sound(f"detection: {name}, per box (n={n})",
                 per_box_wrong(model, trials, n, 20 + n), trials, ALPHA)


@pytest.mark.soundness
def test_two_boxes_per_image():
    second = LinearBoxRegressor(mean=(300.0, 40.0, 340.0, 120.0), spread=(10.0, 4.0, 7.0, 9.0))
    trials = 10_000
    wrong = run_trials((REGRESSOR, second), trials, 128, ALPHA, "image", 31)
    assert_sound("detection: two linear boxes, per image (n=128)",
                 int(np.count_nonzero(wrong.any(axis=(1, 2)))), trials, ALPHA)


@cache
def per_bound_wrong(trials: int, n: int, seed: int, broken: bool = False) -> int:
    """Wrong count of the worst of the 8 coordinate bounds, each its own claim at α."""
    certifier = chiang_certify_boxes if broken else certify_boxes
    wrong = run_trials((REGRESSOR,), trials, n, ALPHA, "none", seed, certifier=certifier)
    return int(wrong[:, 0, :8].sum(axis=0).max())


@pytest.mark.soundness
def test_per_bound_as_in_chiang_et_al():
    trials = 10_000
    assert_sound("detection: linear box regressor, per bound (worst of 8, n=40)",
                 per_bound_wrong(trials, 40, 32), trials, ALPHA)


@pytest.mark.soundness
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="broken on purpose: Chiang's off-by-one lower order statistic")
def test_broken_chiang_per_bound_is_unsound():
    trials = 10_000
    assert_sound("broken: detection per bound with Chiang's off-by-one lower index",
                 per_bound_wrong(trials, 40, 33, broken=True), trials, ALPHA)


@pytest.mark.soundness
def test_suite_sees_chiang_per_bound_violation():
    trials = 10_000
    assert_caught("broken: detection per bound with Chiang's off-by-one lower index",
                  per_bound_wrong(trials, 40, 33, broken=True), trials, ALPHA)
