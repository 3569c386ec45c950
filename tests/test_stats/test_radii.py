import numpy as np
import pytest
from scipy.stats import norm

from adcert.stats import cohen_radius, gamma_interval, lp_radius, segmentation_radius


def test_cohen_radius_one_and_two_sided():
    assert cohen_radius(0.9, 0.5) == pytest.approx(0.5 * norm.ppf(0.9))
    assert cohen_radius(0.9, 0.5, 0.05) == pytest.approx(0.25 * (norm.ppf(0.9) - norm.ppf(0.05)))
    # The one-sided form is the two-sided one with p_b_upper = 1 − p_a_lower.
    assert cohen_radius(0.8, 0.3) == pytest.approx(cohen_radius(0.8, 0.3, 0.2))
    assert cohen_radius(0.5, 1.0) == 0.0
    np.testing.assert_allclose(cohen_radius(np.array([0.6, 0.99]), 1.0), norm.ppf([0.6, 0.99]))


def test_lp_radius_scales_with_dimension():
    r2 = cohen_radius(0.9, 0.25, 0.05)
    assert lp_radius(0.9, 0.05, 0.25, 2, 1000) == pytest.approx(r2)
    assert lp_radius(0.9, 0.05, 0.25, 1, 1000) == pytest.approx(r2)
    assert lp_radius(0.9, 0.05, 0.25, np.inf, 1000) == pytest.approx(r2 / np.sqrt(1000))
    assert lp_radius(0.9, 0.05, 0.25, 4, 16) == pytest.approx(r2 / 16**0.25)
    with pytest.raises(ValueError, match="p must be"):
        lp_radius(0.9, 0.05, 0.25, 0.5, 10)


# SegCertify's Cityscapes table (docs/certificates.md §4), rounded to two decimals.
SEGCERTIFY_RADII = {
    (0.25, 0.75): 0.17, (0.33, 0.75): 0.22, (0.50, 0.75): 0.34,
    (0.25, 0.95): 0.41, (0.50, 0.95): 0.82,
}


@pytest.mark.parametrize("sigma, tau", SEGCERTIFY_RADII)
def test_segmentation_radius_reproduces_segcertify_table(sigma, tau):
    assert round(segmentation_radius(sigma, tau), 2) == SEGCERTIFY_RADII[(sigma, tau)]


def test_segcertify_table_entry_that_disagrees_with_the_formula():
    # The table prints .52 for σ = .33, τ = .95; σΦ⁻¹(τ) = .5428. adcert keeps the formula.
    assert segmentation_radius(0.33, 0.95) == pytest.approx(0.33 * 1.6448536, abs=1e-6)
    assert round(segmentation_radius(0.33, 0.95), 2) == 0.54


@pytest.mark.parametrize("tau", [0.5, 1.0, 0.2])
def test_segmentation_radius_rejects_tau(tau):
    with pytest.raises(ValueError, match="tau"):
        segmentation_radius(0.25, tau)


def test_sigma_must_be_positive():
    with pytest.raises(ValueError, match="sigma"):
        cohen_radius(0.9, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        segmentation_radius(-1.0, 0.75)


def rayleigh_cdf(z):
    return 1.0 - np.exp(-0.5 * z**2)


def rayleigh_ppf(p):
    return np.sqrt(-2.0 * np.log1p(-p))


def bisect_root(first, second):
    """An independent solver: bisection on u = 1/γ² of exp(−a²u/2) + exp(−b²u/2) = 1."""
    a, b = rayleigh_ppf(first), rayleigh_ppf(second)
    low, high = 0.0, 1e6
    for _ in range(400):
        mid = 0.5 * (low + high)
        above = np.exp(-0.5 * a * a * mid) + np.exp(-0.5 * b * b * mid) > 1
        low, high = (mid, high) if above else (low, mid)
    return 1.0 / np.sqrt(0.5 * (low + high))


def test_gamma_interval_first_row_of_muravev_petiushko():
    gamma_1, gamma_2 = gamma_interval(0.6, 0.4)
    assert (round(gamma_1, 2), round(gamma_2, 2)) == (0.86, 1.15)


@pytest.mark.parametrize(
    "p_a, p_b", [(0.6, 0.4), (0.9, 0.05), (0.75, 0.2), (0.999, 0.001), (0.55, 0.3)]
)
def test_gamma_interval_solves_both_equations(p_a, p_b):
    gamma_1, gamma_2 = gamma_interval(p_a, p_b)
    F, F_inv = rayleigh_cdf, rayleigh_ppf
    assert F(F_inv(p_b) / gamma_1) + F(F_inv(1 - p_a) / gamma_1) == pytest.approx(1.0, abs=1e-6)
    assert F(F_inv(p_a) / gamma_2) + F(F_inv(1 - p_b) / gamma_2) == pytest.approx(1.0, abs=1e-6)
    assert gamma_1 == pytest.approx(bisect_root(p_b, 1 - p_a), abs=1e-6)
    assert gamma_2 == pytest.approx(bisect_root(p_a, 1 - p_b), abs=1e-6)
    assert gamma_1 < 1.0 < gamma_2


def test_gamma_interval_is_monotone():
    p_as = np.linspace(0.55, 0.999, 30)
    intervals = np.array([gamma_interval(p, 1 - p) for p in p_as])
    assert np.all(np.diff(intervals[:, 0]) < 0) and np.all(np.diff(intervals[:, 1]) > 0)
    p_bs = np.linspace(0.001, 0.3, 30)
    intervals = np.array([gamma_interval(0.7, p) for p in p_bs])
    assert np.all(np.diff(intervals[:, 0]) > 0) and np.all(np.diff(intervals[:, 1]) < 0)


def test_gamma_interval_without_a_margin_is_empty():
    assert gamma_interval(0.4, 0.4) == (1.0, 1.0)
    with pytest.raises(ValueError, match="p_a_lower"):
        gamma_interval(0.8, 0.5)
