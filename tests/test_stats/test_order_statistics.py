from math import comb

import numpy as np
import pytest
from scipy.stats import binom, norm

from adcert.stats import order_statistic_indices


def tail_at_least(n, p, k):
    return sum(comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))


def brute_force_indices(n, p_lower, p_upper, alpha):
    """The rule of docs/certificates.md §2, by enumerating every k with exact sums."""
    uppers = [k for k in range(1, n + 1) if tail_at_least(n, p_upper, k) <= alpha]
    lowers = [k for k in range(1, n + 1) if 1 - tail_at_least(n, p_lower, k) <= alpha]
    return (max(lowers) if lowers else 0), (min(uppers) if uppers else n + 1)


@pytest.mark.parametrize("n", [1, 5, 20, 101, 400])
@pytest.mark.parametrize("eps_over_sigma", [0.0, 0.4, 1.44])
@pytest.mark.parametrize("alpha", [0.1, 1e-3, 1e-5])
def test_indices_match_brute_force(n, eps_over_sigma, alpha):
    p_lower, p_upper = norm.cdf(-eps_over_sigma), norm.cdf(eps_over_sigma)
    expected = brute_force_indices(n, p_lower, p_upper, alpha)
    assert order_statistic_indices(n, p_lower, p_upper, alpha) == expected


def test_small_n_gives_infinite_bounds():
    assert order_statistic_indices(5, 0.3, 0.7, 1e-3) == (0, 6)


def test_bounds_cover_the_percentiles_at_rate_alpha():
    # Standard normal samples: h_p = Φ⁻¹(p) exactly.
    rng = np.random.default_rng(0)
    n, alpha, trials = 200, 0.05, 20_000
    p_lower, p_upper = norm.cdf(-0.5), norm.cdf(0.5)
    k_lower, k_upper = order_statistic_indices(n, p_lower, p_upper, alpha)
    samples = np.sort(rng.standard_normal((trials, n)), axis=1)
    slack = 3 * np.sqrt(alpha * (1 - alpha) / trials)
    assert np.mean(samples[:, k_upper - 1] < norm.ppf(p_upper)) <= alpha + slack
    assert np.mean(samples[:, k_lower - 1] > norm.ppf(p_lower)) <= alpha + slack


def test_reference_indices_of_chiang_et_al():
    """n = 2000, ε = 0.36, σ = 0.25, confidence 0.99999 (α = 1e-5).

    Chiang et al.'s code reports 0-based q_u = 1899 and q_l = 102, i.e. the 1-based order
    statistics 1900 and 103. The §2 rule gives the 1-based k_u = 1899 and k_l = 102: the
    same numbers used as 1-based ranks, so theirs sit one sample to the right on both
    sides. On the upper side that costs only tightness (y(1900) ≥ y(1899)). On the lower
    side it costs validity: P(y(103) > h_{p_l}) = P(Bin(2000, p_l) ≤ 102) = 1.13e-5 > α,
    while adcert's y(102) misses with probability 7.4e-6 ≤ α.
    """
    n, alpha = 2000, 1e-5
    p_lower, p_upper = norm.cdf(-0.36 / 0.25), norm.cdf(0.36 / 0.25)
    k_lower, k_upper = order_statistic_indices(n, p_lower, p_upper, alpha)
    assert (k_lower, k_upper) == (102, 1899)
    chiang_lower, chiang_upper = 102 + 1, 1899 + 1  # their 0-based indices, as ranks
    assert chiang_upper == k_upper + 1 and chiang_lower == k_lower + 1
    assert binom.cdf(chiang_lower - 1, n, p_lower) > alpha  # their lower rank is too far in
    assert binom.cdf(k_lower - 1, n, p_lower) <= alpha
    assert binom.sf(k_upper - 1, n, p_upper) <= alpha


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n=0, p_lower=0.3, p_upper=0.7, alpha=0.1), "n"),
        (dict(n=10, p_lower=0.3, p_upper=0.7, alpha=1.0), "alpha"),
        (dict(n=10, p_lower=0.8, p_upper=0.7, alpha=0.1), "p_lower"),
        (dict(n=10, p_lower=-0.1, p_upper=0.7, alpha=0.1), "p_lower"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        order_statistic_indices(**kwargs)
