from math import comb

import numpy as np
import pytest
from scipy.stats import binom

from adcert.stats import (
    binom_pvalue_greater,
    clopper_pearson,
    lower_confidence_bound,
    upper_confidence_bound,
)


def test_lower_bound_solves_the_clopper_pearson_equation():
    # The exact lower bound L satisfies P(Bin(n, L) ≥ k) = alpha.
    n, alpha = 100, 0.01
    k = np.arange(1, n + 1)
    lower = lower_confidence_bound(k, n, alpha)
    np.testing.assert_allclose(binom.sf(k - 1, n, lower), alpha, rtol=1e-6)
    assert lower_confidence_bound(0, n, alpha) == 0.0


def test_upper_bound_solves_the_clopper_pearson_equation():
    n, alpha = 100, 0.01
    k = np.arange(0, n)
    upper = upper_confidence_bound(k, n, alpha)
    np.testing.assert_allclose(binom.cdf(k, n, upper), alpha, rtol=1e-6)
    assert upper_confidence_bound(n, n, alpha) == 1.0


def test_two_sided_interval_splits_alpha():
    lower, upper = clopper_pearson(np.array([3, 50]), 100, 0.02)
    np.testing.assert_allclose(lower, lower_confidence_bound(np.array([3, 50]), 100, 0.01))
    np.testing.assert_allclose(upper, upper_confidence_bound(np.array([3, 50]), 100, 0.01))
    assert np.all(lower < upper)


def test_lower_bound_covers_at_rate_alpha():
    rng = np.random.default_rng(0)
    p, n, alpha, trials = 0.3, 50, 0.05, 20_000
    k = rng.binomial(n, p, size=trials)
    miss_rate = np.mean(lower_confidence_bound(k, n, alpha) > p)
    # Clopper–Pearson is conservative: misses at most alpha, up to sampling error.
    assert miss_rate <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / trials)


def test_pvalue_matches_brute_force_tail_sum():
    n, p = 30, 0.75
    for k in range(n + 1):
        exact = sum(comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))
        assert binom_pvalue_greater(k, n, p) == pytest.approx(exact, rel=1e-9, abs=1e-15)
    assert binom_pvalue_greater(np.array([0, 31 - 1]), n, p).shape == (2,)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_bad_alpha_is_named(alpha):
    with pytest.raises(ValueError, match="alpha"):
        lower_confidence_bound(5, 10, alpha)


def test_k_above_n_is_named():
    with pytest.raises(ValueError, match="k must not exceed n"):
        lower_confidence_bound(11, 10, 0.01)
    with pytest.raises(ValueError, match="k must not exceed n"):
        binom_pvalue_greater(11, 10, 0.5)
