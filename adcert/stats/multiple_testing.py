"""Family-wise error control over many simultaneous tests (CERTIFICATION_MATH.md §2, §4)."""

from __future__ import annotations

import numpy as np

from adcert.stats._checks import check_alpha


def _as_pvalues(pvalues) -> np.ndarray:
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size and not (np.all(p >= 0.0) and np.all(p <= 1.0)):
        raise ValueError("pvalues must lie in [0, 1] (NaN is not a p-value)")
    return p


def bonferroni(pvalues, alpha: float) -> np.ndarray:
    """Reject H0_i where p_i ≤ alpha / m.

    Guarantee: the probability of any false rejection among the m tests is ≤ alpha,
    whatever their dependence. Returns a boolean mask of the input's shape.
    """
    alpha = check_alpha(alpha)
    p = _as_pvalues(pvalues)
    return p <= alpha / max(p.size, 1)


def holm(pvalues, alpha: float) -> np.ndarray:
    """Holm's step-down procedure: a boolean mask of rejected hypotheses.

    Guarantee: family-wise error rate ≤ alpha under any dependence, and it rejects
    everything Bonferroni rejects. With sorted p-values p_(1) ≤ … ≤ p_(m), it rejects
    p_(1), …, p_(j−1) where j is the first index with p_(j) > alpha / (m − j + 1).
    """
    alpha = check_alpha(alpha)
    p = _as_pvalues(pvalues)
    m = p.size
    if m == 0:
        return np.zeros(p.shape, dtype=bool)
    ordered = np.sort(p, axis=None)
    passes = ordered <= alpha / (m - np.arange(m))
    if passes.all():
        return np.ones(p.shape, dtype=bool)
    first_fail = int(np.argmin(passes))
    if first_fail == 0:
        return np.zeros(p.shape, dtype=bool)
    # Thresholds increase with rank, so tied p-values cannot straddle the cut:
    # comparing against the last rejected value reproduces the step-down decision.
    return p <= ordered[first_fail - 1]
