"""Which order statistics bound a percentile of a distribution (docs/certificates.md §2)."""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

from adcert.stats._checks import check_alpha, check_probability
from adcert.stats.binomial import tail_rtol


def order_statistic_indices(
    n: int, p_lower: float, p_upper: float, alpha: float
) -> tuple[int, int]:
    """1-based order-statistic indices (k_lower, k_upper) for percentile bounds.

    From n i.i.d. samples sorted as y(1) ≤ … ≤ y(n), with h_p the p-th percentile:

    - ``k_upper`` is the smallest k with P(Bin(n, p_upper) ≥ k) ≤ alpha, so that
      P(y(k_upper) < h_{p_upper}) ≤ alpha; ``n + 1`` means no sample qualifies and the
      upper bound is +∞.
    - ``k_lower`` is the largest k with P(Bin(n, p_lower) ≤ k − 1) ≤ alpha, so that
      P(y(k_lower) > h_{p_lower}) ≤ alpha; ``0`` means the lower bound is −∞.

    Each bound holds on its own at level alpha; correcting for several bounds (per box,
    per image) is the caller's job. The tails are compared with alpha·(1 − tail_rtol(n)),
    so a k qualifies only where its exact tail is ≤ alpha: rounding never moves an index
    outwards (docs/certificates.md §2).
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be a positive sample count, got {n}")
    alpha = check_alpha(alpha)
    p_lower = float(check_probability(p_lower, "p_lower"))
    p_upper = float(check_probability(p_upper, "p_upper"))
    if p_lower > p_upper:
        raise ValueError(f"p_lower ({p_lower}) must not exceed p_upper ({p_upper})")
    j = np.arange(n)  # j = k − 1 for k = 1 … n
    # Both tails are monotone in j, so the qualifying k form a prefix (lower) or a
    # suffix (upper) of 1 … n and counting them gives the index.
    level = alpha * (1.0 - tail_rtol(n))
    k_lower = int(np.count_nonzero(binom.cdf(j, n, p_lower) <= level))
    k_upper = int(np.count_nonzero(binom.sf(j, n, p_upper) > level)) + 1
    return k_lower, k_upper
