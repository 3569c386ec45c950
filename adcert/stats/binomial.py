"""Binomial confidence bounds and tail p-values (CERTIFICATION_MATH.md §1, §4).

All functions are vectorized over ``k`` and ``n`` and return numpy arrays (or floats for
scalar input). Bounds are exact (Clopper–Pearson), never normal approximations.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta, binom

from adcert.stats._checks import check_alpha, check_counts, check_probability


def _scalar_or_array(x: np.ndarray) -> np.ndarray | float:
    return float(x) if np.ndim(x) == 0 else x


def lower_confidence_bound(k, n, alpha: float) -> np.ndarray | float:
    """One-sided Clopper–Pearson lower bound on a binomial proportion.

    Guarantee: if k ~ Bin(n, p), then P(returned bound > p) ≤ alpha (§1).
    Returns 0 for k = 0.
    """
    alpha = check_alpha(alpha)
    k, n = check_counts(k, n)
    with np.errstate(invalid="ignore"):
        bound = np.where(k > 0, beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)
    return _scalar_or_array(bound)


def upper_confidence_bound(k, n, alpha: float) -> np.ndarray | float:
    """One-sided Clopper–Pearson upper bound: P(returned bound < p) ≤ alpha.

    Returns 1 for k = n.
    """
    alpha = check_alpha(alpha)
    k, n = check_counts(k, n)
    with np.errstate(invalid="ignore"):
        bound = np.where(k < n, beta.ppf(1.0 - alpha, k + 1, np.maximum(n - k, 1)), 1.0)
    return _scalar_or_array(bound)


def clopper_pearson(k, n, alpha: float) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Two-sided Clopper–Pearson interval (lower, upper) at confidence 1 − alpha.

    Guarantee: P(lower ≤ p ≤ upper) ≥ 1 − alpha; each side fails with probability
    ≤ alpha / 2.
    """
    alpha = check_alpha(alpha)
    return lower_confidence_bound(k, n, alpha / 2), upper_confidence_bound(k, n, alpha / 2)


def binom_pvalue_greater(k, n, p) -> np.ndarray | float:
    """P(Bin(n, p) ≥ k): the p-value of H0 "success probability ≤ p" given k successes.

    Under H0 the returned value is super-uniform, so rejecting when it is ≤ alpha errs
    with probability ≤ alpha (§4, the τ-test per pixel).
    """
    k, n = check_counts(k, n)
    p = check_probability(p, "p")
    return _scalar_or_array(binom.sf(k - 1, n, p))
