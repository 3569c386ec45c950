"""Certified radii and parameter ranges (docs/certificates.md §1, §4, §5)."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from adcert.stats._checks import check_probability, check_sigma, check_tau
from adcert.stats._rounding import MP, first_safe, float_down, float_up, step_down, step_up

# scipy's ndtri is within 3.3 ulps of Φ⁻¹ (measured against 50-digit mpmath over both
# tails; tests/test_stats/test_rounding.py re-checks); the radii step 16.
_NDTRI_ULPS = 16


def _scalar_or_array(x: np.ndarray) -> np.ndarray | float:
    return float(x) if np.ndim(x) == 0 else x


def _ndtri_down(p: np.ndarray) -> np.ndarray:
    """A lower bound of Φ⁻¹(p), elementwise: exact at p ∈ {0, 1/2, 1}."""
    x = ndtri(p)
    return np.where(p == 0.5, 0.0, step_down(x, _NDTRI_ULPS))


def _ndtri_up(p: np.ndarray) -> np.ndarray:
    """An upper bound of Φ⁻¹(p), elementwise: exact at p ∈ {0, 1/2, 1}."""
    x = ndtri(p)
    return np.where(p == 0.5, 0.0, step_up(x, _NDTRI_ULPS))


def cohen_radius(p_a_lower, sigma: float, p_b_upper=None) -> np.ndarray | float:
    """ℓ2 radius of a Gaussian-smoothed classifier (§1, Cohen et al. 2019).

    With p_a_lower ≤ P(f(x+δ) = c_A) and p_b_upper ≥ max_{c≠c_A} P(f(x+δ) = c), the smoothed
    classifier returns c_A for every ‖δ‖₂ < R, where R = σ Φ⁻¹(p_a_lower) (one-sided form,
    ``p_b_upper=None``, i.e. p_b_upper = 1 − p_a_lower) or
    R = σ/2 (Φ⁻¹(p_a_lower) − Φ⁻¹(p_b_upper)). A radius ≤ 0 certifies nothing.
    The radius is measured in model-input space (RGB in [0, 1]).

    Rounded down: the returned radius never exceeds the exact R (docs/certificates.md
    §1); it is exactly 0 where p_a_lower = 1/2 (one-sided) or p_a_lower = p_b_upper.
    """
    sigma = check_sigma(sigma)
    p_a = check_probability(p_a_lower, "p_a_lower")
    if p_b_upper is None:
        radius = step_down(sigma * _ndtri_down(p_a))
        return _scalar_or_array(np.where(p_a == 0.5, 0.0, radius))
    p_b = check_probability(p_b_upper, "p_b_upper")
    with np.errstate(invalid="ignore"):
        gap = step_down(_ndtri_down(p_a) - _ndtri_up(p_b))
        radius = step_down(step_down(sigma * gap) * 0.5)
    return _scalar_or_array(np.where(p_a == p_b, 0.0, radius))


def lp_radius(p_a_lower, p_b_upper, sigma: float, p: float, dim: int) -> np.ndarray | float:
    """ℓp radius implied by Gaussian smoothing, for p ≥ 1 (§1).

    For p ≥ 2, ‖δ‖₂ ≤ d^{1/2 − 1/p} ‖δ‖_p, so R_p = R_2 / d^{1/2 − 1/p} with R_2 the
    two-sided Cohen radius; for 1 ≤ p ≤ 2, ‖δ‖₂ ≤ ‖δ‖_p and R_p = R_2. ``p=np.inf`` is
    allowed. The certificate holds wherever the ℓ2 one does (same probability 1 − alpha).
    Rounded down, like :func:`cohen_radius` (docs/certificates.md §1).
    """
    p = float(p)
    if not p >= 1.0:
        raise ValueError(f"p must be ≥ 1 (an ℓp norm), got {p}")
    dim = int(dim)
    if dim < 1:
        raise ValueError(f"dim must be a positive input dimension, got {dim}")
    radius_l2 = np.asarray(cohen_radius(p_a_lower, sigma, p_b_upper))
    exponent = max(MP.mpf(0.5) - 1 / MP.mpf(p), 0)  # 1/inf = 0 in mpmath too
    scale = MP.mpf(dim) ** exponent
    # A positive radius shrinks by the larger divisor, a negative one by the smaller.
    divisor = np.where(radius_l2 >= 0, float_up(scale), float_down(scale))
    return _scalar_or_array(np.where(divisor == 1.0, radius_l2,
                                     step_down(radius_l2 / divisor)))


def segmentation_radius(sigma: float, tau: float) -> float:
    """ℓ2 radius σ Φ⁻¹(τ) within which a certified pixel keeps its class (§4).

    Rounded down: never above the exact σ Φ⁻¹(τ) (docs/certificates.md §4)."""
    sigma = check_sigma(sigma)
    tau = check_tau(tau)
    return float(cohen_radius(tau, sigma))


# A 50-digit sign is trusted beyond this distance from zero.
_SIGN_TOL = MP.mpf(10) ** -40


def _rayleigh_excess(log_first, log_second):
    """γ ↦ F(F⁻¹(p1)/γ) + F(F⁻¹(p2)/γ) − 1 for Rayleigh(1) F, at 50 digits, given
    log(1 − p1) and log(1 − p2): F(F⁻¹(p)/γ) = 1 − (1 − p)^{1/γ²}. Falls strictly in γ."""

    def excess(gamma: float):
        u = 1 / MP.mpf(gamma) ** 2
        return 1 - MP.exp(u * log_first) - MP.exp(u * log_second)

    return excess


def gamma_interval(p_a_lower: float, p_b_upper: float) -> tuple[float, float]:
    """Gamma range (γ1, γ2) certified by Rayleigh smoothing (§5, Muravev & Petiushko 2021).

    The prediction x ↦ f(x^γ), γ ~ Rayleigh(σ), smoothed, stays c_A for every gamma
    correction x ↦ x^β with γ1 < β < γ2, where γ1 and γ2 solve
    F(F⁻¹(p̄B)/γ1) + F(F⁻¹(1 − p̲A)/γ1) = 1 and F(F⁻¹(p̲A)/γ2) + F(F⁻¹(1 − p̄B)/γ2) = 1.
    σ cancels. It holds with the confidence of the bounds p̲A, p̄B. Where
    p_a_lower ≤ p_b_upper nothing is certified and (1.0, 1.0) — an empty range — is
    returned.

    Rounded inwards: γ1 is the smallest float and γ2 the largest at which the left side,
    evaluated at 50 digits, is on the certified side of 1 (docs/certificates.md §5), so
    the returned range lies inside the exact one. A zero p̄B or unit p̲A gives the
    exact ends 0 and ∞.
    """
    p_a = float(check_probability(p_a_lower, "p_a_lower"))
    p_b = float(check_probability(p_b_upper, "p_b_upper"))
    if p_a + p_b > 1.0 + 1e-12:
        raise ValueError(f"p_a_lower + p_b_upper must not exceed 1, got {p_a} + {p_b}")
    if p_a <= p_b:
        return 1.0, 1.0
    if p_b == 0.0 or p_a == 1.0:
        return 0.0, np.inf
    a, b = MP.mpf(p_a), MP.mpf(p_b)
    # γ1: p1 = p̄B, p2 = 1 − p̲A; γ2: p1 = p̲A, p2 = 1 − p̄B. Both sides are 1 at γ = 0
    # and p̲A − p̄B away from 1 on the certified side at γ = 1.
    low_excess = _rayleigh_excess(MP.log1p(-b), MP.log(a))
    high_excess = _rayleigh_excess(MP.log1p(-a), MP.log(b))
    gamma_1 = first_safe(lambda g: low_excess(g) < -_SIGN_TOL, 0.0, 1.0)
    gamma_2 = first_safe(lambda g: high_excess(g) > _SIGN_TOL, np.inf, 1.0)
    return gamma_1, gamma_2
