"""Brightness and contrast together, x ↦ e^k·x + b (docs/certificates.md §5).

Smoothing draws θ = (k, b) ~ P = N(0, σk²) ⊗ N(0, σb²). An attack (k', b') applied first
composes as T_θ(A(x)) = e^{k+k'}·x + (b + e^k·b'), so the effective parameter follows
Q, the law of (k + k', b + e^k b') — not a shift of P (the affine group is not abelian), so
Cohen's radius does not apply. The map is volume-preserving, and

    KL(Q ‖ P) = k'² / (2σk²) + b'² · e^{2σk²} / (2σb²)

(E[k] = E[b] = 0, E[e^{2k}] = e^{2σk²}). By data processing, any event A keeps
kl(Q(A) ‖ P(A)) ≤ KL(Q ‖ P), with kl the Bernoulli divergence. Hence a class with
P(A) ≥ p̲A > 1/2 stays above 1/2 — the smoothed prediction is kept — whenever
KL < kl(1/2 ‖ p̲A) = −½ ln(4 p̲A (1 − p̲A)): an ellipse in (k', b'). The same budget gives
percentile levels for detection. Sound for every base model; looser than the exact
Neyman–Pearson region (for b' alone: σb e^{−σk²} √(−ln 4p(1−p)) against σb Φ⁻¹(p)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from scipy.special import rel_entr

from adcert.stats._checks import check_probability, check_sigma
from adcert.stats._rounding import (
    MP,
    ceil_text,
    first_safe,
    float_down,
    float_up,
    floor_text,
    format_down,
)

# A 50-digit sign is trusted beyond this distance from zero.
_SIGN_TOL = MP.mpf(10) ** -40


def _divergence(k, b, sigma_k: float, sigma_b: float):
    """KL(Q ‖ P) of the attack x ↦ e^k·x + b at 50 digits."""
    k, b, sigma_k, sigma_b = (MP.mpf(v) for v in (k, b, sigma_k, sigma_b))
    return k**2 / (2 * sigma_k**2) + b**2 * MP.exp(2 * sigma_k**2) / (2 * sigma_b**2)


def attack_divergence(k: float, b: float, sigma_k: float, sigma_b: float) -> float:
    """KL(Q ‖ P) of the smoothing law after the attack x ↦ e^k·x + b (see module doc).

    Rounded up: never below the exact divergence, so a budget that covers it covers the
    attack (docs/certificates.md §5)."""
    sigma_k, sigma_b = check_sigma(sigma_k, "sigma_k"), check_sigma(sigma_b, "sigma_b")
    return float_up(_divergence(k, b, sigma_k, sigma_b))


def bernoulli_kl(q: float, p: float) -> float:
    """kl(q ‖ p) between Bernoulli(q) and Bernoulli(p), in nats."""
    return float(rel_entr(q, p) + rel_entr(1.0 - q, 1.0 - p))


def _bernoulli_kl_exact(q: float, p: float):
    """kl(q ‖ p) at 50 digits (0·log 0 = 0), with 1 − p taken exactly."""
    q, p = MP.mpf(q), MP.mpf(p)

    def term(x, log_ratio):
        return MP.mpf(0) if x == 0 else x * log_ratio

    return (term(q, MP.log(q) - MP.log(p))
            + term(1 - q, MP.log1p(-q) - MP.log1p(-p)))


def divergence_levels(p: float, budget: float) -> tuple[float, float]:
    """(p_l, p_u): the q below and above p with kl(p ‖ q) = ``budget`` (0 and 1 when no
    such q exists). An event of probability ≤ p_l cannot reach p under any Q with
    KL(Q ‖ P) ≤ budget, nor one of probability ≥ p_u fall to p — percentile smoothing's
    levels (§2) for this attack set.

    Rounded outwards, the safe side for percentile levels: p_l is the largest float and
    p_u the smallest at which kl(p ‖ q), evaluated at 50 digits, exceeds the budget
    (docs/certificates.md §2, §5)."""
    p = float(check_probability(p, "p"))
    if budget <= 0:
        return p, p
    budget_exact = MP.mpf(budget)

    def beyond(q: float) -> bool:
        return _bernoulli_kl_exact(p, q) - budget_exact > _SIGN_TOL

    # kl(p ‖ q) falls on [0, p] and rises on [p, 1], from ∞ (p > 0, resp. p < 1) to 0.
    p_l = first_safe(beyond, p, 0.0) if p > 0 else 0.0
    p_u = first_safe(beyond, p, 1.0) if p < 1 else 1.0
    return p_l, p_u


@dataclass(frozen=True)
class BrightnessContrastRegion:
    """Attacks x ↦ e^k·x + b with KL below ``budget``: the ellipse
    (k / k_radius)² + (b / b_radius)² < 1 (contrast factor e^k, brightness b on [0, 1])."""

    sigma_k: float
    sigma_b: float
    budget: float
    eps: float | None = None  # set for an attack set |k| ≤ ε, |b| ≤ ε (detection)
    transform: str = "brightness_contrast"

    @cached_property
    def k_radius(self) -> float:
        """Semi-axis in k, rounded down (docs/certificates.md §5)."""
        return float_down(MP.mpf(self.sigma_k) * MP.sqrt(2 * max(MP.mpf(self.budget), 0)))

    @cached_property
    def b_radius(self) -> float:
        """Semi-axis in b, rounded down (docs/certificates.md §5)."""
        sigma_k = MP.mpf(self.sigma_k)
        return float_down(MP.mpf(self.sigma_b) * MP.exp(-sigma_k**2)
                          * MP.sqrt(2 * max(MP.mpf(self.budget), 0)))

    @property
    def empty(self) -> bool:
        return not self.budget > 0

    def contains(self, k: float, b: float) -> bool:
        """Whether the attack's exact divergence lies below the budget."""
        return bool(_divergence(k, b, self.sigma_k, self.sigma_b) < MP.mpf(self.budget))

    def describe(self) -> str:
        """Rounded inwards, so the text never claims more than was certified: every number
        is rounded towards the smaller set, exactly (docs/certificates.md §5)."""
        if self.empty:
            return f"{self.transform}: nothing certified"
        if self.eps is not None:
            low, high = float_up(MP.exp(-MP.mpf(self.eps))), float_down(MP.exp(self.eps))
            return (f"contrast in [{ceil_text(low)}, {floor_text(high)}] "
                    f"with brightness ±{format_down(self.eps, 6)}")
        # The square inscribed in the ellipse: half-sides k_radius/√2 and b_radius/√2.
        k = float_down(MP.mpf(self.k_radius) / MP.sqrt(2))
        b = float_down(MP.mpf(self.b_radius) / MP.sqrt(2))
        low, high = float_up(MP.exp(-MP.mpf(k))), float_down(MP.exp(k))
        k_axis, b_axis = floor_text(self.k_radius, 4), floor_text(self.b_radius, 4)
        return (f"contrast e^k and brightness b with (k/{k_axis})² + (b/{b_axis})² < 1, "
                f"e.g. contrast in ({ceil_text(low)}, {floor_text(high)}) "
                f"with brightness ±{floor_text(b)}")

    def to_record(self) -> dict:
        return {"transform": self.transform, "k_radius": self.k_radius,
                "b_radius": self.b_radius, "kl_budget": self.budget, "text": self.describe()}


def certified_region(
    sigma_k: float, sigma_b: float, p_a_lower: float
) -> BrightnessContrastRegion:
    """Attacks under which the smoothed prediction keeps class c_A when
    P(f(e^k x + b) = c_A) ≥ ``p_a_lower``: KL < kl(1/2 ‖ p̲A). Holds with the confidence
    of the bound p̲A; an empty region when p̲A ≤ 1/2. The budget is rounded down."""
    p = float(check_probability(p_a_lower, "p_a_lower"))
    if 0.5 < p < 1:  # rounded down: never above the exact kl(1/2 ‖ p̲A)
        exact = MP.mpf(p)
        budget = float_down(-MP.log(4 * exact * (1 - exact)) / 2)
    else:
        budget = math.inf if p == 1 else 0.0
    return BrightnessContrastRegion(check_sigma(sigma_k, "sigma_k"),
                                    check_sigma(sigma_b, "sigma_b"), budget)


def attack_region(eps: float, sigma_k: float, sigma_b: float) -> BrightnessContrastRegion:
    """The region whose KL budget covers every attack with |k| ≤ ε and |b| ≤ ε (the
    divergence grows in |k| and |b|, so the corner (ε, ε) bounds it). The budget is
    rounded up, so that it covers the corner."""
    eps = check_sigma(eps, "eps")
    budget = attack_divergence(eps, eps, sigma_k, sigma_b)
    return BrightnessContrastRegion(sigma_k, sigma_b, budget, eps)
