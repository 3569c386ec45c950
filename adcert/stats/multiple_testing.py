"""Family-wise error control over many simultaneous tests (docs/certificates.md §2, §4)."""

from __future__ import annotations

import math

import numpy as np

from adcert.stats._checks import check_alpha
from adcert.stats._rounding import step_down


def _as_pvalues(pvalues) -> np.ndarray:
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size and not (np.all(p >= 0.0) and np.all(p <= 1.0)):
        raise ValueError("pvalues must lie in [0, 1] (NaN is not a p-value)")
    return p


def _quotients(alpha: float, divisors: np.ndarray) -> np.ndarray:
    """alpha / k for each k, rounded down: the float quotient where it is exact (k's odd
    part divides alpha's significand and the quotient is a normal float), else the float
    below it — so a p-value at or below the threshold is at or below the exact alpha / k
    (docs/certificates.md §2)."""
    quotient = alpha / divisors
    significand = int(math.frexp(alpha)[0] * 2**53)
    odd = divisors // (divisors & -divisors)
    exact = (significand % odd == 0) & (quotient >= np.finfo(float).tiny)
    return np.where(exact, quotient, step_down(quotient))


def divide_down(alpha: float, divisor: int) -> float:
    """alpha / divisor rounded down (a Bonferroni level that never exceeds the exact one)."""
    return float(_quotients(float(alpha), np.array([int(divisor)], dtype=np.int64))[0])


def bonferroni(pvalues, alpha: float) -> np.ndarray:
    """Reject H0_i where p_i ≤ alpha / m (the threshold rounded down).

    Guarantee: the probability of any false rejection among the m tests is ≤ alpha,
    whatever their dependence. Returns a boolean mask of the input's shape.
    """
    alpha = check_alpha(alpha)
    p = _as_pvalues(pvalues)
    return p <= _quotients(alpha, np.array(max(p.size, 1)))


def holm(pvalues, alpha: float) -> np.ndarray:
    """Holm's step-down procedure: a boolean mask of rejected hypotheses.

    Guarantee: family-wise error rate ≤ alpha under any dependence, and it rejects
    everything Bonferroni rejects. With sorted p-values p_(1) ≤ … ≤ p_(m), it rejects
    p_(1), …, p_(j−1) where j is the first index with p_(j) > alpha / (m − j + 1)
    (thresholds rounded down).
    """
    alpha = check_alpha(alpha)
    p = _as_pvalues(pvalues)
    m = p.size
    if m == 0:
        return np.zeros(p.shape, dtype=bool)
    ordered = np.sort(p, axis=None)
    passes = ordered <= _quotients(alpha, m - np.arange(m))
    if passes.all():
        return np.ones(p.shape, dtype=bool)
    first_fail = int(np.argmin(passes))
    if first_fail == 0:
        return np.zeros(p.shape, dtype=bool)
    # Thresholds increase with rank, so tied p-values cannot straddle the cut:
    # comparing against the last rejected value reproduces the step-down decision.
    return p <= ordered[first_fail - 1]
