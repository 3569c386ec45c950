"""Soundness of Cohen et al.'s CERTIFY and PREDICT (:mod:`adcert.certify.classification`).

The analytic model is a linear classifier f(x + δ) = [w·(x + δ) > b] at a point x whose
signed distance to the hyperplane is m = (w·x − b)/‖w‖. Under δ ~ N(0, σ²I), w·δ/‖w‖ ~
N(0, σ²), so the votes for class 1 are Bin(n, Φ(m/σ)) — drawn here directly — and the
smoothed classifier is g(x) = [m > 0] with the exact ℓ2 radius |m| (the distance to the
hyperplane, where Cohen's bound is tight). A certificate is wrong when it names a class
other than g(x) or a radius above |m|. Each trial draws a fresh point with m uniform in
(−σ, σ), so the true probabilities sit around the decision boundary.
"""

from functools import cache
from unittest.mock import patch

import numpy as np
import pytest
from scipy.stats import norm

from adcert import ABSTAIN
from adcert.certify import classification
from adcert.certify.classification import certify, predict
from tests.soundness.harness import assert_caught, assert_sound, per_distinct

SIGMA = 0.25
ALPHA = 0.1


def two_class(ones: int, total: int) -> np.ndarray:
    return np.array([total - ones, ones])


def cohen_outcomes(trials: int, n0: int, n: int, alpha: float, seed: int):
    """(margin, label, radius) per trial of CERTIFY on the linear model."""
    rng = np.random.default_rng(seed)
    margin = rng.uniform(-SIGMA, SIGMA, trials)
    p_one = norm.cdf(margin / SIGMA)
    selection, estimation = rng.binomial(n0, p_one), rng.binomial(n, p_one)
    certs = per_distinct(
        lambda s, e: certify(two_class(s, n0), two_class(e, n), SIGMA, alpha),
        selection, estimation)
    label = np.array([c.label for c in certs])
    radius = np.array([c.radius for c in certs], dtype=np.float64)
    return margin, label, radius


@cache
def cohen_wrong(trials: int, n0: int, n: int, alpha: float, seed: int,
                broken: str | None = None) -> int:
    if broken == "point estimate":
        # Broken: the radius from k/n itself, no confidence bound.
        with patch.object(classification, "lower_confidence_bound", lambda k, n, a: k / n):
            margin, label, radius = cohen_outcomes(trials, n0, n, alpha, seed)
    else:
        margin, label, radius = cohen_outcomes(trials, n0, n, alpha, seed)
    truth = (margin > 0).astype(int)
    wrong = (label != ABSTAIN) & ((label != truth) | (radius > np.abs(margin)))
    return int(np.count_nonzero(wrong))


def test_cohen_certify_linear_classifier():
    trials = 20_000
    assert_sound("Cohen CERTIFY, linear classifier (n0=10, n=50)",
                 cohen_wrong(trials, 10, 50, ALPHA, 1), trials, ALPHA)


@pytest.mark.soundness
@pytest.mark.parametrize("n0, n, alpha", [(10, 100, 0.05), (32, 500, 0.1), (10, 50, 0.2)])
def test_cohen_certify_linear_classifier_full(n0, n, alpha):
    trials = 100_000
    assert_sound(f"Cohen CERTIFY, linear classifier (n0={n0}, n={n})",
                 cohen_wrong(trials, n0, n, alpha, 2), trials, alpha)


BROKEN_POINT = (20_000, 10, 50, ALPHA, 3, "point estimate")


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="broken on purpose: radius from the point estimate k/n")
def test_broken_cohen_point_estimate_is_unsound():
    assert_sound("broken: Cohen with the point estimate k/n", cohen_wrong(*BROKEN_POINT),
                 BROKEN_POINT[0], ALPHA)


def test_suite_sees_the_point_estimate_violation():
    assert_caught("broken: Cohen with the point estimate k/n", cohen_wrong(*BROKEN_POINT),
                  BROKEN_POINT[0], ALPHA)


def slab_probabilities(z: np.ndarray, half_width: float) -> np.ndarray:
    """P(class) for f = 0 / 1 / 2 on z < −w, −w ≤ z < w, z ≥ w, with z ~ N(z, σ²)."""
    low, high = norm.cdf((-half_width - z) / SIGMA), norm.cdf((half_width - z) / SIGMA)
    return np.stack([low, high - low, 1.0 - high], axis=-1)


@pytest.mark.soundness
def test_cohen_certify_three_classes():
    """f(x + δ) is 0, 1 or 2 as z = u·(x + δ) (‖u‖ = 1) falls left of, inside or right of
    a slab |z| < w. g is 1 on |z| < c, where the class-1 and class-2 (or class-0)
    probabilities cross, 0 or 2 outside; the exact radius is the distance to ±c."""
    from scipy.optimize import brentq

    half_width, trials, n0, n = 2 * SIGMA, 20_000, 10, 100
    c = brentq(lambda z: np.subtract(*slab_probabilities(np.array(z), half_width)[1:]),
               0.0, 5 * half_width)
    rng = np.random.default_rng(4)
    z = rng.uniform(-c - SIGMA, c + SIGMA, trials)
    p = slab_probabilities(z, half_width)
    selection, estimation = rng.multinomial(n0, p), rng.multinomial(n, p)
    certs = per_distinct(lambda s, e: certify(s, e, SIGMA, ALPHA), selection, estimation)
    truth = np.where(np.abs(z) < c, 1, np.where(z > 0, 2, 0))
    exact = np.abs(c - np.abs(z))
    wrong = sum(cert.label != ABSTAIN and (cert.label != t or cert.radius > r)
                for cert, t, r in zip(certs, truth, exact, strict=True))
    assert_sound("Cohen CERTIFY, three classes (slab)", wrong, trials, ALPHA)


@pytest.mark.soundness
def test_cohen_predict_linear_classifier():
    """PREDICT errs (names a class other than g(x)) with probability ≤ α."""
    trials, n = 100_000, 100
    rng = np.random.default_rng(5)
    margin = rng.uniform(-SIGMA / 4, SIGMA / 4, trials)
    votes = rng.binomial(n, norm.cdf(margin / SIGMA))
    labels = np.array(per_distinct(lambda k: predict(two_class(k, n), ALPHA), votes))
    wrong = np.count_nonzero((labels != ABSTAIN) & (labels != (margin > 0)))
    assert_sound("Cohen PREDICT, linear classifier (n=100)", int(wrong), trials, ALPHA)
