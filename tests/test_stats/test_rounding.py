"""Directed rounding: no reported radius, range, level or bound lies outside the exact one.

"Exact" is computed here independently of adcert: with :mod:`fractions` / :mod:`decimal`
for the decimal helpers and with 60-digit :mod:`mpmath` (exact binomial sums, Φ through
erfinv, the Rayleigh and Bernoulli formulas written out) for the statistics. Every sweep
is seeded and runs over thousands of inputs.
"""

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from scipy.stats import binom

from adcert.stats import (
    _rounding,
    attack_range,
    binom_pvalue_greater,
    bonferroni,
    certified_range,
    cohen_radius,
    gamma_interval,
    holm,
    lower_confidence_bound,
    lp_radius,
    order_statistic_indices,
    percentile_levels,
    segmentation_radius,
    upper_confidence_bound,
)
from adcert.stats import brightness_contrast as bc

MP = mpmath.MPContext()
MP.dps = 60


def exact(x) -> Fraction:
    """The exact value of a float or an mpmath number, as a fraction."""
    if isinstance(x, float | int | np.floating):
        return Fraction(float(x))
    sign, man, exp, _ = MP.mpf(x)._mpf_
    value = Fraction(man) * Fraction(2) ** exp
    return -value if sign else value


def awkward_floats(rng: np.random.Generator, count: int) -> list[float]:
    """Floats next to decimals (k/1000 and its neighbours), sums such as 0.1 + 0.2, uniform
    and log-uniform values of both signs."""
    values = [0.1 + 0.2, 0.3, 1.005, 2.675, 1e-3, 0.0, -0.0]
    for k in rng.integers(1, 100_000, count // 4):
        values += [k * 1e-3, math.nextafter(k / 1000, 0), math.nextafter(k / 1000, math.inf)]
    values += list(rng.uniform(-10, 10, count // 4))
    signs = rng.choice([-1.0, 1.0], count // 4)
    values += list(signs * 10 ** rng.uniform(-8, 8, count // 4))
    return [float(v) for v in values]


# The decimal helpers -------------------------------------------------------------------


def test_floor_to_and_ceil_to_never_cross_the_value():
    # Old code: math.floor(v * 1000) / 1000 gave floor_to(0.11699999999999999) = 0.117 > v
    # and ceil_to(0.043000000000000003) = 0.043 < v.
    rng = np.random.default_rng(0)
    for value in awkward_floats(rng, 4000):
        for places in (3, int(rng.integers(0, 7))):
            down, up = _rounding.floor_to(value, places), _rounding.ceil_to(value, places)
            assert exact(down) <= exact(value) <= exact(up), (value, places)
            # The float nearest the decimal floor / ceiling: as tight as can be.
            quantum = Decimal(1).scaleb(-places)
            assert down == float(Decimal(value).quantize(quantum, rounding=ROUND_FLOOR))
            assert up == float(Decimal(value).quantize(quantum, rounding=ROUND_CEILING))
    assert _rounding.floor_to(0.11699999999999999) == 0.116
    assert _rounding.ceil_to(0.043000000000000003) == 0.044
    assert _rounding.ceil_to(0.1 + 0.2) == 0.301 and _rounding.floor_to(0.1 + 0.2) == 0.3
    assert math.isinf(_rounding.floor_to(math.inf)) and math.isnan(_rounding.ceil_to(math.nan))


def test_floor_text_and_ceil_text_are_the_exact_decimals():
    rng = np.random.default_rng(1)
    for value in awkward_floats(rng, 2000):
        down, up = _rounding.floor_text(value), _rounding.ceil_text(value)
        assert Decimal(down) <= Decimal(value) <= Decimal(up), value
        assert Decimal(up) - Decimal(down) <= Decimal("0.001")
        assert float(down) == _rounding.floor_to(value) or float(down) == 0.0
        assert not down.endswith(".") and (down == "0" or "." not in down or down[-1] != "0")
    assert _rounding.floor_text(0.3) == "0.299" and _rounding.ceil_text(0.3) == "0.3"
    assert _rounding.floor_text(2326.3478740408408) == "2326.347"
    assert _rounding.floor_text(-0.0001) == "-0.001" and _rounding.ceil_text(-0.0001) == "0"


@pytest.mark.parametrize("digits", [1, 3, 4, 6])
def test_format_down_and_up_bracket_the_value_in_gs_layout(digits):
    # Old captions used f"{v:.4g}", which rounds to nearest: 0.12345678 prints 0.1235.
    rng = np.random.default_rng(digits)
    for value in awkward_floats(rng, 2000) + [5e-324, 1.7976931348623157e308, 9.9996]:
        down = _rounding.format_down(value, digits)
        up = _rounding.format_up(value, digits)
        assert Decimal(down) <= Decimal(value) <= Decimal(up), (value, down, up)
        nearest = f"{value:.{digits}g}"
        # Python's layout whenever rounding to nearest went the same way.
        if Decimal(nearest) <= Decimal(value):
            assert down == nearest, (value, down, nearest)
        if Decimal(nearest) >= Decimal(value):
            assert up == nearest, (value, up, nearest)
    assert _rounding.format_down(0.12345678) == "0.1234"
    assert _rounding.format_up(0.12344) == "0.1235"
    assert _rounding.format_up(9.9996) == "10" and _rounding.format_down(1e-5) == "1e-05"
    assert _rounding.format_down(math.inf) == "inf"
    with pytest.raises(ValueError, match="digits"):
        _rounding.format_down(1.0, 0)


def test_float_down_and_up_bracket_mpmath_values():
    rng = np.random.default_rng(2)
    for _ in range(3000):
        x = MP.mpf(float(rng.uniform(-1, 1))) * MP.exp(float(rng.uniform(-700, 700)))
        x = x / 3 if rng.random() < 0.5 else MP.sqrt(abs(x))
        down, up = _rounding.float_down(x), _rounding.float_up(x)
        assert exact(down) <= exact(x) <= exact(up)
        assert math.nextafter(down, math.inf) >= up  # adjacent floats (or equal)
    assert _rounding.float_down(1) == 1.0 == _rounding.float_up(1)  # exact values stay
    assert _rounding.float_down(MP.mpf("inf")) == math.inf


def test_step_down_and_up():
    x = np.array([1.0, -2.5, 0.0, np.inf, -np.inf])
    down, up = _rounding.step_down(x, 2), _rounding.step_up(x, 2)
    assert np.all(down[:3] < x[:3]) and np.all(up[:3] > x[:3])
    assert np.array_equal(down[3:], x[3:]) and np.array_equal(up[3:], x[3:])
    assert _rounding.step_down(1.0, 2) == math.nextafter(math.nextafter(1.0, 0), 0)


def test_first_safe_finds_the_float_next_to_the_root():
    root_two = _rounding.first_safe(lambda x: exact(x) ** 2 >= 2, 0.0, 2.0)
    assert exact(root_two) ** 2 >= 2 > exact(math.nextafter(root_two, 0)) ** 2
    below = _rounding.first_safe(lambda x: exact(x) ** 2 <= 2, math.inf, 0.0)
    assert below == math.nextafter(root_two, 0)
    assert _rounding.first_safe(lambda x: False, -1.0, 3.0) == 3.0
    assert _rounding.first_safe(lambda x: x > -0.5, -1.0, 1.0) == math.nextafter(-0.5, 0)


# Exact references ------------------------------------------------------------------


def binomial_at_least(k: int, n: int, p: float):
    """P(Bin(n, p) ≥ k) at 60 digits: the sum of its terms from the largest one."""
    if k <= 0:
        return MP.mpf(1)
    x = MP.mpf(p)
    mode = min(max(k, int(n * p)), n)
    log_term = (MP.log(MP.binomial(n, mode)) + mode * MP.log(x) + (n - mode) * MP.log1p(-x))
    total, term = MP.mpf(0), MP.exp(log_term)
    for j in range(mode, n + 1):  # upwards from the mode (or from k)
        total += term
        if j < n:
            term = term * (n - j) / (j + 1) * x / (1 - x)
        if term < total * MP.mpf(10) ** -55:
            break
    term = MP.exp(log_term)
    for j in range(mode, k, -1):  # downwards to k
        term = term * j / (n - j + 1) * (1 - x) / x
        total += term
        if term < total * MP.mpf(10) ** -55:
            break
    return total


def binomial_at_most(k: int, n: int, p: float):
    """P(Bin(n, p) ≤ k) = P(Bin(n, 1 − p) ≥ n − k), 1 − p exact at 60 digits."""
    if k >= n:
        return MP.mpf(1)
    return binomial_at_least(n - k, n, MP.mpf(1) - MP.mpf(p))


def normal_ppf(p: float):
    """Φ⁻¹(p) = √2 erfinv(2p − 1), at 60 digits."""
    return MP.sqrt(2) * MP.erfinv(2 * MP.mpf(p) - 1)


# Binomial bounds, p-values, order statistics, thresholds -------------------------------


def random_counts(rng, count, n_max=3.0):
    n = (10 ** rng.uniform(0, n_max, count)).astype(int)
    k = np.array([rng.integers(0, m + 1) for m in n])
    alpha = 10 ** -rng.uniform(0.5, 10, count)
    return k, n, alpha


def test_clopper_pearson_bounds_never_cross_the_exact_ones():
    # Old code: beta.ppf alone, above the exact bound for about half of all inputs, e.g.
    # lower_confidence_bound(4, 5, 0.31502359932528784) = 0.587094251814116, whose tail
    # exceeds alpha by a relative 7e-16, and upper_confidence_bound(30, 31, 1.06e-10)
    # (via 1 − alpha) one whose tail exceeds alpha by a relative 1.3e-5.
    rng = np.random.default_rng(3)
    k, n, alpha = random_counts(rng, 1000)
    for kk, nn, a in zip(k, n, alpha, strict=True):
        lower = lower_confidence_bound(kk, nn, a)
        upper = upper_confidence_bound(kk, nn, a)
        # Still the Clopper–Pearson bounds, up to a relative 1e-6 in the tail.
        if kk > 0:
            assert binomial_at_least(kk, nn, lower) <= a, (kk, nn, a, lower)
            assert binom.sf(kk - 1, nn, lower) == pytest.approx(a, rel=1e-6)
        if kk < nn:
            assert binomial_at_most(kk, nn, upper) <= a, (kk, nn, a, upper)
            assert binom.cdf(kk, nn, upper) == pytest.approx(a, rel=1e-6)
    assert lower_confidence_bound(0, 5, 0.1) == 0.0 and upper_confidence_bound(5, 5, 0.1) == 1.0


def test_vectorised_bounds_equal_the_scalar_ones():
    k, n = np.array([[0, 3, 10], [1, 50, 100]]), np.array([10, 100, 100])
    lower, upper = lower_confidence_bound(k, n, 0.01), upper_confidence_bound(k, n, 0.01)
    assert lower.shape == upper.shape == (2, 3)
    for index in np.ndindex(k.shape):
        nn = n[index[1]]
        assert lower[index] == lower_confidence_bound(int(k[index]), int(nn), 0.01)
        assert upper[index] == upper_confidence_bound(int(k[index]), int(nn), 0.01)


def test_pvalues_are_rounded_up():
    # Old code: binom.sf alone, below the exact tail for a third of these inputs, e.g.
    # binom_pvalue_greater(105, 254, 0.12774879488776156) = 8.44379020873254e-30 <
    # 8.4437902087326161e-30.
    rng = np.random.default_rng(4)
    k, n, _ = random_counts(rng, 1000)
    p = rng.uniform(0.01, 0.99, k.size)
    for kk, nn, pp in zip(k, n, p, strict=True):
        assert exact(binom_pvalue_greater(kk, nn, pp)) >= exact(binomial_at_least(kk, nn, pp))
    assert binom_pvalue_greater(0, 10, 0.3) == 1.0 and binom_pvalue_greater(3, 10, 0.0) == 0.0


def test_order_statistic_indices_hold_exactly_at_ties():
    # alpha set to the computed tail itself: old code took the index whenever the rounded
    # tail equalled alpha, also where the exact tail was above it (half of these cases,
    # e.g. n = 269, p_l = 0.5137930049379278, alpha = 8.693116639845178e-05: k_lower 108).
    rng = np.random.default_rng(5)
    for _ in range(400):
        n = int(rng.integers(5, 400))
        p_l, p_u = sorted(rng.uniform(0.05, 0.95, 2))
        alpha = float(binom.cdf(int(rng.integers(0, n // 2)), n, p_l))
        if not 0 < alpha < 1:
            continue
        k_lower, k_upper = order_statistic_indices(n, p_l, p_u, alpha)
        if k_lower >= 1:
            assert binomial_at_most(k_lower - 1, n, p_l) <= alpha
        if k_upper <= n:
            assert binomial_at_least(k_upper, n, p_u) <= alpha


def test_multiple_testing_thresholds_never_exceed_alpha_over_m():
    # Old code: alpha / m rounded to nearest, above the exact quotient for half of these,
    # e.g. alpha = 0.2691283593008244, m = 104.
    rng = np.random.default_rng(6)
    for _ in range(2000):
        alpha, m = float(rng.uniform(1e-4, 0.5)), int(rng.integers(1, 200))
        threshold = alpha / m
        for p in (threshold, math.nextafter(threshold, 0), math.nextafter(threshold, 1)):
            rejected = bool(bonferroni(np.full(m, p), alpha)[0])
            assert not rejected or exact(p) <= exact(alpha) / m, (alpha, m, p)
            # At most one float below the exact threshold is given away.
            assert rejected or p >= threshold or exact(p) > exact(alpha) / m
    assert bonferroni(np.array([0.25, 0.25]), 0.5).all()  # exact quotients stay exact
    assert holm(np.array([0.05 / 3] * 3), 0.05).sum() == 0


# Radii --------------------------------------------------------------------------------


def random_probabilities(rng, count):
    """Uniform, both tails down to 1e-30 and 1 − 1e-16, and the centre."""
    tails = 10 ** -rng.uniform(1, 30, count // 3)
    return np.concatenate([rng.uniform(0, 1, count - 2 * (count // 3)), tails,
                           1 - 10 ** -rng.uniform(1, 16, count // 3)])


def test_cohen_radius_is_rounded_down():
    # Old code: sigma * norm.ppf(p) rounded to nearest, above the exact radius for about
    # half of all inputs, e.g. cohen_radius(0.8690497571674405, 0.040430118117621636).
    rng = np.random.default_rng(7)
    p = random_probabilities(rng, 3000)
    sigma = 10 ** rng.uniform(-2, 1, p.size)
    radii = [cohen_radius(pp, s) for pp, s in zip(p, sigma, strict=True)]
    for pp, s, r in zip(p, sigma, radii, strict=True):
        assert MP.ncdf(MP.mpf(r) / MP.mpf(s)) <= MP.mpf(pp), (pp, s, r)  # r ≤ σΦ⁻¹(p)
    vector = cohen_radius(p, 0.25)
    assert np.array_equal(vector, [cohen_radius(pp, 0.25) for pp in p])
    assert cohen_radius(0.5, 1.0) == 0.0


def test_two_sided_and_lp_radii_are_rounded_down():
    rng = np.random.default_rng(8)
    for _ in range(1000):
        p_a = float(rng.uniform(0.3, 1 - 1e-12))
        p_b = float(rng.uniform(1e-12, 1 - p_a))
        sigma = float(10 ** rng.uniform(-2, 1))
        r2 = MP.mpf(sigma) / 2 * (normal_ppf(p_a) - normal_ppf(p_b))
        assert exact(cohen_radius(p_a, sigma, p_b)) <= exact(r2), (p_a, p_b, sigma)
        norm_p = float(rng.choice([1.0, 2.0, 2.5, 3.0, 4.0, 7.0, np.inf]))
        dim = int(10 ** rng.uniform(0, 7))
        exponent = max(MP.mpf(0.5) - (0 if norm_p == np.inf else 1 / MP.mpf(norm_p)), 0)
        rp = r2 / MP.mpf(dim) ** exponent
        assert exact(lp_radius(p_a, p_b, sigma, norm_p, dim)) <= exact(rp)
    assert lp_radius(0.9, 0.05, 0.25, 2, 1000) == cohen_radius(0.9, 0.25, 0.05)


def test_segmentation_radius_is_rounded_down():
    rng = np.random.default_rng(9)
    for tau in np.concatenate([rng.uniform(0.5, 1, 1000), 1 - 10 ** -rng.uniform(1, 15, 500)]):
        if not 0.5 < tau < 1:
            continue
        sigma = float(10 ** rng.uniform(-2, 1))
        radius = segmentation_radius(sigma, float(tau))
        assert MP.ncdf(MP.mpf(radius) / MP.mpf(sigma)) <= MP.mpf(float(tau))


def rayleigh_left_side(first: float, second, gamma: float):
    """F(F⁻¹(p1)/γ) + F(F⁻¹(p2)/γ) for Rayleigh(1), F(z) = 1 − exp(−z²/2), p2 exact."""

    def f_of_quantile(p):
        z = MP.sqrt(-2 * MP.log1p(-MP.mpf(p)))
        return 1 - MP.exp(-(z / MP.mpf(gamma)) ** 2 / 2)

    return f_of_quantile(first) + f_of_quantile(second)


def test_gamma_interval_lies_inside_the_exact_one():
    # Old code: brentq to 1e-12, e.g. gamma_interval(0.6, 0.4)[0] = 0.8584670023746561,
    # below the exact γ1 = 0.85846700237470177…, and gamma_interval(0.7, 1e-17) = (…, inf)
    # where the exact γ2 is 3.8988545.
    rng = np.random.default_rng(10)
    cases = [(0.6, 0.4), (0.7, 1e-17), (0.999, 0.001), (1 - 1e-12, 1e-12), (0.3, 0.2)]
    for _ in range(300):
        p_a = float(rng.uniform(0.2, 1))
        p_b = float(rng.uniform(0, min(p_a, 1 - p_a))) * (10 ** -rng.uniform(0, 15))
        cases.append((p_a, p_b))
    for p_a, p_b in cases:
        gamma_1, gamma_2 = gamma_interval(p_a, p_b)
        assert gamma_1 < 1 < gamma_2
        one_minus_a, one_minus_b = 1 - MP.mpf(p_a), 1 - MP.mpf(p_b)
        # Left side ≤ 1 at γ1: γ1 is at or above the exact root; ≥ 1 at γ2: at or below.
        assert rayleigh_left_side(p_b, one_minus_a, gamma_1) <= 1, (p_a, p_b)
        if math.isfinite(gamma_2):
            assert rayleigh_left_side(p_a, one_minus_b, gamma_2) >= 1, (p_a, p_b)
        # And tight: one float further out crosses the root.
        assert rayleigh_left_side(p_b, one_minus_a, math.nextafter(gamma_1, 0)) > 1 - 1e-30
    assert gamma_interval(0.7, 0.0) == (0.0, math.inf)


# Percentile levels, ranges, brightness∘contrast ---------------------------------------


def test_percentile_levels_are_rounded_outwards():
    # Old code: norm.cdf(norm.ppf(p) ± ε/σ) to nearest, inside the exact levels for
    # 73% of these inputs; the gamma levels for 68% (e.g. p = 0.49927930671523474,
    # ε = 0.0012191777413661019: p_l = 0.49843338477678695 above the exact one).
    rng = np.random.default_rng(11)
    for _ in range(1000):
        p = float(rng.uniform(0.001, 0.999)) if rng.random() < 0.8 else 0.5
        sigma, eps = float(10 ** rng.uniform(-1.5, 0.5)), float(10 ** rng.uniform(-3, 0))
        p_l, p_u = percentile_levels("gaussian", sigma, eps, p)
        shift = MP.mpf(eps) / MP.mpf(sigma)
        assert exact(p_l) <= exact(MP.ncdf(normal_ppf(p) - shift)), (p, sigma, eps)
        assert exact(p_u) >= exact(MP.ncdf(normal_ppf(p) + shift)), (p, sigma, eps)
        p_l, p_u = percentile_levels("gamma", sigma, eps, p)
        low, high = MP.exp(-MP.mpf(eps)) ** 2, MP.exp(MP.mpf(eps)) ** 2
        q = 1 - MP.mpf(p)
        assert exact(p_l) <= exact(min(MP.mpf(p) ** high, 1 - q**low))
        assert exact(p_u) >= exact(max(1 - q**high, MP.mpf(p) ** low))
    assert percentile_levels("gaussian", 0.25, 0.1, 0.0) == (0.0, 0.0)


def bernoulli_kl_exact(q, p):
    q, p = MP.mpf(q), MP.mpf(p)
    first = q * MP.log(q / p) if q > 0 else 0
    second = (1 - q) * MP.log((1 - q) / (1 - p)) if q < 1 else 0
    return first + second


def corner_divergence(eps, sigma_k, sigma_b):
    eps, sigma_k, sigma_b = MP.mpf(eps), MP.mpf(sigma_k), MP.mpf(sigma_b)
    return eps**2 / (2 * sigma_k**2) + eps**2 * MP.exp(2 * sigma_k**2) / (2 * sigma_b**2)


def test_brightness_contrast_budgets_levels_and_radii_are_rounded_safely():
    rng = np.random.default_rng(12)
    for _ in range(150):
        sigma, eps = float(10 ** rng.uniform(-1.5, 0)), float(10 ** rng.uniform(-3, -0.5))
        p = float(rng.uniform(0.01, 0.99))
        divergence = corner_divergence(eps, sigma, sigma)
        assert exact(bc.attack_divergence(eps, eps, sigma, sigma)) >= exact(divergence)
        p_l, p_u = percentile_levels("brightness_contrast", sigma, eps, p)
        # Outside the exact levels: kl(p ‖ level) ≥ the exact divergence on both sides.
        assert p_l == 0.0 or bernoulli_kl_exact(p, p_l) >= divergence
        assert p_u == 1.0 or bernoulli_kl_exact(p, p_u) >= divergence
        p_a = float(rng.uniform(0.5001, 1 - 1e-9))
        region = bc.certified_region(sigma, sigma, p_a)
        budget = -MP.log(4 * MP.mpf(p_a) * (1 - MP.mpf(p_a))) / 2
        assert exact(region.budget) <= exact(budget)
        assert exact(region.k_radius) <= exact(MP.mpf(sigma) * MP.sqrt(2 * budget))
        b_radius = MP.mpf(sigma) * MP.exp(-MP.mpf(sigma) ** 2) * MP.sqrt(2 * budget)
        assert exact(region.b_radius) <= exact(b_radius)


def numbers_in(text: str) -> list[Decimal]:
    import re

    return [Decimal(m) for m in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", text)]


def test_range_texts_lie_inside_the_ranges():
    # Old code: f"{floor_to(high):g}" keeps 6 digits, to nearest: a brightness radius of
    # 2326.3478… (σ = 1000, p = 0.99) was written "±2326.35".
    rng = np.random.default_rng(13)
    text = certified_range("brightness", 1000.0, 0.99).describe()
    assert text == "brightness ±2326.347 on the [0,1] scale"
    for _ in range(300):
        sigma = float(10 ** rng.uniform(-2, 3.5))
        p_a = float(rng.uniform(0.51, 1 - 1e-9))
        for transform in ("gaussian", "brightness", "contrast", "gamma"):
            region = certified_range(transform, sigma, p_a)
            numbers = numbers_in(region.describe())
            if transform == "gaussian":  # "… of norm < high on the [0,1] scale"
                assert numbers[1] <= Decimal(region.high)
            elif transform == "brightness":
                assert numbers[0] <= Decimal(region.high)
            else:
                assert numbers[0] >= Decimal(region.low) and numbers[1] <= Decimal(region.high)
        radius = normal_ppf(p_a) * MP.mpf(sigma)
        contrast = certified_range("contrast", sigma, p_a)
        assert exact(contrast.low) >= exact(MP.exp(-radius))
        assert exact(contrast.high) <= exact(MP.exp(radius))
        assert exact(certified_range("gaussian", sigma, p_a).high) <= exact(radius)
    for eps in 10 ** rng.uniform(-3, 0, 300):
        gamma = attack_range("gamma", float(eps))
        assert exact(gamma.low) >= exact(MP.exp(-MP.mpf(float(eps))))
        assert exact(gamma.high) <= exact(MP.exp(MP.mpf(float(eps))))
        region = attack_range("brightness_contrast", float(eps), 0.3)
        low, high, brightness = numbers_in(region.describe())
        assert Fraction(low) >= exact(MP.exp(-MP.mpf(float(eps))))
        assert Fraction(high) <= exact(MP.exp(MP.mpf(float(eps))))
        assert brightness <= Decimal(float(eps))


def test_figure_text_rounds_each_figure_on_its_safe_side():
    from adcert.stats._rounding import figure_text

    assert figure_text("certified_ap50", 0.27899) == "0.2789"
    assert figure_text("on_certified_acc", 0.98549) == "0.9854"
    assert figure_text("certified_failure_bound", 0.14231) == "0.1424"
    assert figure_text("certified_wrong_rate", 0.012911) == "0.01292"
    assert figure_text("clean_ap50", 0.64736) == "0.6474"
