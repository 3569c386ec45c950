"""Certified radii and parameter ranges (CERTIFICATION_MATH.md §1, §4, §5)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm, rayleigh

from adcert.stats._checks import check_probability, check_sigma, check_tau


def _scalar_or_array(x: np.ndarray) -> np.ndarray | float:
    return float(x) if np.ndim(x) == 0 else x


def cohen_radius(p_a_lower, sigma: float, p_b_upper=None) -> np.ndarray | float:
    """ℓ2 radius of a Gaussian-smoothed classifier (§1, Cohen et al. 2019).

    With p_a_lower ≤ P(f(x+δ) = c_A) and p_b_upper ≥ max_{c≠c_A} P(f(x+δ) = c), the smoothed
    classifier returns c_A for every ‖δ‖₂ < R, where R = σ Φ⁻¹(p_a_lower) (one-sided form,
    ``p_b_upper=None``, i.e. p_b_upper = 1 − p_a_lower) or
    R = σ/2 (Φ⁻¹(p_a_lower) − Φ⁻¹(p_b_upper)). A radius ≤ 0 certifies nothing.
    The radius is measured in model-input space (RGB in [0, 1]).
    """
    sigma = check_sigma(sigma)
    p_a = check_probability(p_a_lower, "p_a_lower")
    if p_b_upper is None:
        return _scalar_or_array(sigma * norm.ppf(p_a))
    p_b = check_probability(p_b_upper, "p_b_upper")
    return _scalar_or_array(0.5 * sigma * (norm.ppf(p_a) - norm.ppf(p_b)))


def lp_radius(p_a_lower, p_b_upper, sigma: float, p: float, dim: int) -> np.ndarray | float:
    """ℓp radius implied by Gaussian smoothing, for p ≥ 1 (§1).

    For p ≥ 2, ‖δ‖₂ ≤ d^{1/2 − 1/p} ‖δ‖_p, so R_p = R_2 / d^{1/2 − 1/p} with R_2 the
    two-sided Cohen radius; for 1 ≤ p ≤ 2, ‖δ‖₂ ≤ ‖δ‖_p and R_p = R_2. ``p=np.inf`` is
    allowed. The certificate holds wherever the ℓ2 one does (same probability 1 − alpha).
    """
    p = float(p)
    if not p >= 1.0:
        raise ValueError(f"p must be ≥ 1 (an ℓp norm), got {p}")
    dim = int(dim)
    if dim < 1:
        raise ValueError(f"dim must be a positive input dimension, got {dim}")
    radius_l2 = np.asarray(cohen_radius(p_a_lower, sigma, p_b_upper))
    exponent = max(0.5 - 1.0 / p, 0.0)
    return _scalar_or_array(radius_l2 / dim**exponent)


def segmentation_radius(sigma: float, tau: float) -> float:
    """ℓ2 radius σ Φ⁻¹(τ) within which a certified pixel keeps its class (§4)."""
    sigma = check_sigma(sigma)
    tau = check_tau(tau)
    return float(sigma * norm.ppf(tau))


def _rayleigh_root(p_first: float, p_second: float) -> float:
    """γ > 0 solving F(F⁻¹(p_first)/γ) + F(F⁻¹(p_second)/γ) = 1 for Rayleigh(1) F.

    The left side falls strictly from 2 − [p=0 terms] to 0 as γ grows, so the root is
    unique; γ = 0 or ∞ stand for a root pushed to the edge by a zero or one probability.
    """
    a, b = rayleigh.ppf(p_first), rayleigh.ppf(p_second)
    if np.isinf(a) or np.isinf(b):
        return np.inf
    if a == 0.0 or b == 0.0:
        return 0.0

    def excess(gamma: float) -> float:
        return rayleigh.cdf(a / gamma) + rayleigh.cdf(b / gamma) - 1.0

    low, high = 1.0, 1.0
    while excess(low) < 0.0:
        low /= 2.0
    while excess(high) > 0.0:
        high *= 2.0
    return float(brentq(excess, low, high, xtol=1e-12, rtol=1e-12))


def gamma_interval(p_a_lower: float, p_b_upper: float) -> tuple[float, float]:
    """Gamma range (γ1, γ2) certified by Rayleigh smoothing (§5, Muravev & Petiushko 2021).

    The prediction x ↦ f(x^γ), γ ~ Rayleigh(σ), smoothed, stays c_A for every gamma
    correction x ↦ x^β with γ1 < β < γ2, where γ1 and γ2 solve
    F(F⁻¹(p̄B)/γ1) + F(F⁻¹(1 − p̲A)/γ1) = 1 and F(F⁻¹(p̲A)/γ2) + F(F⁻¹(1 − p̄B)/γ2) = 1.
    σ cancels. It holds with the confidence of the bounds p̲A, p̄B. Where
    p_a_lower ≤ p_b_upper nothing is certified and (1.0, 1.0) — an empty range — is
    returned.
    """
    p_a = float(check_probability(p_a_lower, "p_a_lower"))
    p_b = float(check_probability(p_b_upper, "p_b_upper"))
    if p_a + p_b > 1.0 + 1e-12:
        raise ValueError(f"p_a_lower + p_b_upper must not exceed 1, got {p_a} + {p_b}")
    if p_a <= p_b:
        return 1.0, 1.0
    return _rayleigh_root(p_b, 1.0 - p_a), _rayleigh_root(p_a, 1.0 - p_b)
