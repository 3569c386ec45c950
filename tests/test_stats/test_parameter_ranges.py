"""Parameter ranges and percentile levels of camera-effect smoothing (§5)."""

import math

import numpy as np
import pytest
from scipy.stats import norm, rayleigh

from adcert.stats import attack_range, certified_range, gamma_interval, percentile_levels


def test_additive_ranges_are_cohen_radii_in_parameter_units():
    p_a, sigma = 0.9, 0.2
    radius = sigma * norm.ppf(p_a)
    brightness = certified_range("brightness", sigma, p_a)
    assert (brightness.low, brightness.high) == pytest.approx((-radius, radius))
    contrast = certified_range("contrast", sigma, p_a)
    assert (contrast.low, contrast.high) == pytest.approx((math.exp(-radius), math.exp(radius)))
    assert certified_range("gaussian", sigma, p_a).high == pytest.approx(radius)
    assert brightness.contains(0.99 * radius) and not brightness.contains(1.01 * radius)


def test_gamma_range_is_gamma_interval_and_the_first_table_row():
    r = certified_range("gamma", 0.8, 0.6, 0.4)
    assert (r.low, r.high) == gamma_interval(0.6, 0.4)
    assert (round(r.low, 2), round(r.high, 2)) == (0.86, 1.15)
    assert r.describe() == "gamma in (0.859, 1.149)"  # rounded inwards


@pytest.mark.parametrize("transform", ["gaussian", "brightness", "contrast", "gamma"])
def test_no_majority_certifies_nothing(transform):
    r = certified_range(transform, 0.3, 0.5)
    assert r.empty and not r.contains(1.0) and not r.contains(0.0)
    assert "nothing certified" in r.describe()


def test_attack_ranges_in_user_terms():
    assert attack_range("brightness", 0.1).describe() == "brightness ±0.1 on the [0,1] scale"
    gamma = attack_range("gamma", 0.2)
    assert (gamma.low, gamma.high) == pytest.approx((math.exp(-0.2), math.exp(0.2)))
    with pytest.raises(ValueError, match="eps"):
        attack_range("contrast", 0.0)
    with pytest.raises(ValueError, match="transform"):
        attack_range("blur", 0.1)


@pytest.mark.parametrize("transform", ["gaussian", "brightness", "contrast"])
def test_additive_levels_are_chiangs(transform):
    p_l, p_u = percentile_levels(transform, 0.25, 0.36)
    assert (p_l, p_u) == pytest.approx((norm.cdf(-0.36 / 0.25), norm.cdf(0.36 / 0.25)))


def _worst_probabilities(q, betas):
    """Largest and smallest probability any attack β can give an event of probability q
    under Rayleigh(1), by brute force over both tail sets (scipy's Rayleigh, no closed
    forms): under β the exponent is Rayleigh(β)."""
    low_tail = rayleigh.cdf(rayleigh.ppf(q) / betas)  # {γ ≤ t} with P = q
    high_tail = rayleigh.sf(rayleigh.isf(q) / betas)  # {γ ≥ t} with P = q
    both = np.concatenate([low_tail, high_tail])
    return both.max(), both.min()


@pytest.mark.parametrize("eps", [0.05, 0.2, 0.5])
@pytest.mark.parametrize("p", [0.5, 0.3])
def test_gamma_levels_are_the_tightest_safe_levels(eps, p):
    p_l, p_u = percentile_levels("gamma", 0.7, eps, p)
    betas = np.exp(np.linspace(-eps, eps, 2001))
    # Safe: no attack lifts an event of probability p_l above p, or pushes p_u below p.
    assert _worst_probabilities(p_l, betas)[0] <= p + 1e-9
    assert _worst_probabilities(p_u, betas)[1] >= p - 1e-9
    # Tight: a little further and some attack in the range crosses p.
    assert _worst_probabilities(p_l + 1e-4, betas)[0] > p
    assert _worst_probabilities(p_u - 1e-4, betas)[1] < p
    assert p_l < p < p_u


def test_gamma_levels_do_not_depend_on_sigma():
    assert percentile_levels("gamma", 0.3, 0.1) == percentile_levels("gamma", 2.0, 0.1)
