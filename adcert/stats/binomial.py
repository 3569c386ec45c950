"""Binomial confidence bounds and tail p-values (docs/certificates.md §1, §4).

All functions are vectorized over ``k`` and ``n`` and return numpy arrays (or floats for
scalar input). Bounds are exact (Clopper–Pearson), never normal approximations.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta, binom

from adcert.stats._checks import check_alpha, check_counts, check_probability
from adcert.stats._rounding import step_up


def _scalar_or_array(x: np.ndarray) -> np.ndarray | float:
    return float(x) if np.ndim(x) == 0 else x


# Below this the tails' relative accuracy is not relied on (scipy's come out subnormal).
_TINY_TAIL = 2.0**-960


def tail_rtol(n) -> np.ndarray:
    """How far scipy's binomial tails (Boost's regularized incomplete beta) may be off,
    relative, for n trials: measured below 1.5e-12 up to n = 1e8 against exact binomial
    sums; this allows 2⁻³⁶ + 64·n ulps. A computed tail ≤ alpha·(1 − tail_rtol(n))
    proves the exact one ≤ alpha."""
    return 2.0**-36 + 64.0 * np.asarray(n, dtype=float) * np.finfo(float).eps


def _settle(x: np.ndarray, tail, alpha: float, rtol: np.ndarray, limit: float) -> np.ndarray:
    """``x`` moved towards ``limit`` (0 or 1) by 1, 2, 4, … ulps until ``tail(x, i)`` (the
    exact tail at x for the entries ``i``, decreasing towards ``limit``) provably is ≤
    alpha: its computed value is ≤ alpha·(1 − rtol). ``limit`` itself always qualifies."""
    x = x.copy()
    target = alpha * (1.0 - rtol)
    step = np.zeros_like(x)
    todo = np.flatnonzero(tail(x, slice(None)) > target)
    while todo.size:
        step[todo] = np.maximum(np.spacing(x[todo]), 2.0 * step[todo])
        moved = x[todo] - step[todo] if limit == 0.0 else x[todo] + step[todo]
        x[todo] = np.clip(moved, 0.0, 1.0)
        open_ = (x[todo] != limit) & (tail(x[todo], todo) > target[todo])
        todo = todo[open_]
    return x


def lower_confidence_bound(k, n, alpha: float) -> np.ndarray | float:
    """One-sided Clopper–Pearson lower bound on a binomial proportion.

    Guarantee: if k ~ Bin(n, p), then P(returned bound > p) ≤ alpha (§1).
    Returns 0 for k = 0. Rounded down: the returned L satisfies P(Bin(n, L) ≥ k) ≤ alpha
    exactly, so it never exceeds the exact bound (``beta.ppf`` alone can land hundreds of
    ulps above it; docs/certificates.md §1).
    """
    alpha = check_alpha(alpha)
    k, n = np.broadcast_arrays(*check_counts(k, n))
    bound = np.zeros(k.shape)
    some = k > 0
    a, b = k[some], (n - k + 1)[some]
    with np.errstate(invalid="ignore"):
        guess = beta.ppf(alpha, a, b).astype(float)
    bound[some] = _settle(guess, lambda x, i: beta.cdf(x, a[i], b[i]), alpha,
                          tail_rtol(n[some]), 0.0)
    return _scalar_or_array(bound)


def upper_confidence_bound(k, n, alpha: float) -> np.ndarray | float:
    """One-sided Clopper–Pearson upper bound: P(returned bound < p) ≤ alpha.

    Returns 1 for k = n. Rounded up: the returned U satisfies P(Bin(n, U) ≤ k) ≤ alpha
    exactly (docs/certificates.md §1).
    """
    alpha = check_alpha(alpha)
    k, n = np.broadcast_arrays(*check_counts(k, n))
    bound = np.ones(k.shape)
    some = k < n
    a, b = (k + 1)[some], (n - k)[some]
    with np.errstate(invalid="ignore"):
        guess = beta.isf(alpha, a, b).astype(float)
    bound[some] = _settle(guess, lambda x, i: beta.sf(x, a[i], b[i]), alpha,
                          tail_rtol(n[some]), 1.0)
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
    with probability ≤ alpha (§4, the τ-test per pixel). Rounded up by
    :func:`tail_rtol` (docs/certificates.md §4), so that stays true of the exact tail;
    exact where p is 0 or 1. Tails below 2⁻⁹⁶⁰ (1e-289), where the relative accuracy
    of the computation is not vouched for, are reported as 2⁻⁹⁵⁹.
    """
    k, n = check_counts(k, n)
    p = check_probability(p, "p")
    tail = binom.sf(k - 1, n, p)
    rounded = np.minimum(step_up(tail * (1.0 + tail_rtol(n))), 1.0)
    rounded = np.where(tail < _TINY_TAIL, 2.0 * _TINY_TAIL, rounded)
    return _scalar_or_array(np.where((p == 0.0) | (p == 1.0) | (k == 0), tail, rounded))
