"""Brightness∘contrast: the KL formula, the Bernoulli levels, and the certified ellipse."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from adcert.stats import certified_range, percentile_levels
from adcert.stats.brightness_contrast import (
    attack_divergence,
    bernoulli_kl,
    certified_region,
    divergence_levels,
)

SIGMA_K, SIGMA_B = 0.2, 0.15


def test_divergence_matches_monte_carlo():
    """KL(Q‖P) = E_Q[log q/p]; the map (k, b) ↦ (k + k', b + e^k b') keeps volume, so
    log q/p at the image of θ is log p(θ) − log p(image)."""
    rng = np.random.default_rng(0)
    k = SIGMA_K * rng.standard_normal(2_000_000)
    b = SIGMA_B * rng.standard_normal(2_000_000)
    k_attack, b_attack = 0.1, -0.05
    k_new, b_new = k + k_attack, b + np.exp(k) * b_attack

    def log_p(kk, bb):
        return -kk**2 / (2 * SIGMA_K**2) - bb**2 / (2 * SIGMA_B**2)

    estimate = np.mean(log_p(k, b) - log_p(k_new, b_new))
    exact = attack_divergence(k_attack, b_attack, SIGMA_K, SIGMA_B)
    assert estimate == pytest.approx(exact, rel=0.01)


def test_divergence_levels_solve_the_bernoulli_equation():
    p_l, p_u = divergence_levels(0.5, 0.08)
    assert p_l < 0.5 < p_u
    assert bernoulli_kl(0.5, p_l) == pytest.approx(0.08)
    assert bernoulli_kl(0.5, p_u) == pytest.approx(0.08)
    assert divergence_levels(0.5, 0.0) == (0.5, 0.5)
    assert percentile_levels("brightness_contrast", 0.25, 0.05) == divergence_levels(
        0.5, attack_divergence(0.05, 0.05, 0.25, 0.25))


def smoothed_probability(mean, t, k_attack=0.0, b_attack=0.0):
    """Exact P(f = 1) of f(x) = [mean(x) > t] smoothed over e^k x + b, after the attack
    x ↦ e^{k'} x + b' (quadrature over k)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    attacked = math.exp(k_attack) * mean + b_attack
    k = SIGMA_K * nodes
    values = norm.cdf((np.exp(k) * attacked - t) / SIGMA_B)
    return float(np.sum(weights * values) / np.sqrt(2 * np.pi))


@pytest.mark.parametrize("mean", [0.5, 0.6, 0.8])
def test_every_attack_in_the_region_keeps_the_class(mean):
    t = 0.45
    p = smoothed_probability(mean, t)
    region = certified_region(SIGMA_K, SIGMA_B, p)
    assert not region.empty
    angles = np.linspace(0, 2 * np.pi, 73)
    for scale in (0.5, 0.9, 0.999):
        for angle in angles:
            k = scale * region.k_radius * np.cos(angle)
            b = scale * region.b_radius * np.sin(angle)
            assert region.contains(k, b)
            assert smoothed_probability(mean, t, k, b) > 0.5
    # Not vacuous: the worst direction (darker and lower contrast) flips soon after.
    flip = next(s for s in np.linspace(1, 10, 400)
                if smoothed_probability(mean, t, -s * region.k_radius / 2,
                                        -s * region.b_radius / 2) <= 0.5)
    assert flip < 6


def test_region_text_and_record():
    region = certified_range("brightness_contrast", 0.2, 0.9)
    record = region.to_record()
    assert record["transform"] == "brightness_contrast" and record["kl_budget"] > 0
    assert record["text"].startswith("contrast e^k and brightness b with (k/")
    assert certified_range("brightness_contrast", 0.2, 0.5).empty
