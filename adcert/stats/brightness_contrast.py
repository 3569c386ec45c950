"""Brightness and contrast together, x ↦ e^k·x + b (CERTIFICATION_MATH.md §5).

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

from scipy.optimize import brentq
from scipy.special import rel_entr

from adcert.stats._checks import check_probability, check_sigma
from adcert.stats._rounding import ceil_to, floor_to


def attack_divergence(k: float, b: float, sigma_k: float, sigma_b: float) -> float:
    """KL(Q ‖ P) of the smoothing law after the attack x ↦ e^k·x + b (see module doc)."""
    sigma_k, sigma_b = check_sigma(sigma_k, "sigma_k"), check_sigma(sigma_b, "sigma_b")
    return k**2 / (2 * sigma_k**2) + b**2 * math.exp(2 * sigma_k**2) / (2 * sigma_b**2)


def bernoulli_kl(q: float, p: float) -> float:
    """kl(q ‖ p) between Bernoulli(q) and Bernoulli(p), in nats."""
    return float(rel_entr(q, p) + rel_entr(1.0 - q, 1.0 - p))


def divergence_levels(p: float, budget: float) -> tuple[float, float]:
    """(p_l, p_u): the q below and above p with kl(p ‖ q) = ``budget`` (0 and 1 when no
    such q exists). An event of probability ≤ p_l cannot reach p under any Q with
    KL(Q ‖ P) ≤ budget, nor one of probability ≥ p_u fall to p — percentile smoothing's
    levels (§2) for this attack set."""
    p = float(check_probability(p, "p"))
    if budget <= 0:
        return p, p

    def gap(q: float) -> float:
        return bernoulli_kl(p, q) - budget

    tiny = 1e-300
    p_l = brentq(gap, tiny, p, xtol=1e-15) if gap(tiny) > 0 else 0.0
    p_u = brentq(gap, p, 1 - 1e-16, xtol=1e-15) if gap(1 - 1e-16) > 0 else 1.0
    return float(p_l), float(p_u)


@dataclass(frozen=True)
class BrightnessContrastRegion:
    """Attacks x ↦ e^k·x + b with KL below ``budget``: the ellipse
    (k / k_radius)² + (b / b_radius)² < 1 (contrast factor e^k, brightness b on [0, 1])."""

    sigma_k: float
    sigma_b: float
    budget: float
    eps: float | None = None  # set for an attack set |k| ≤ ε, |b| ≤ ε (detection)
    transform: str = "brightness_contrast"

    @property
    def k_radius(self) -> float:
        return self.sigma_k * math.sqrt(2 * max(self.budget, 0.0))

    @property
    def b_radius(self) -> float:
        return self.sigma_b * math.exp(-self.sigma_k**2) * math.sqrt(2 * max(self.budget, 0.0))

    @property
    def empty(self) -> bool:
        return not self.budget > 0

    def contains(self, k: float, b: float) -> bool:
        return attack_divergence(k, b, self.sigma_k, self.sigma_b) < self.budget

    def describe(self) -> str:
        """Rounded inwards, so the text never claims more than was certified."""
        if self.empty:
            return f"{self.transform}: nothing certified"
        if self.eps is not None:
            low, high = ceil_to(math.exp(-self.eps)), floor_to(math.exp(self.eps))
            return f"contrast in [{low:g}, {high:g}] with brightness ±{self.eps:g}"
        k, b = self.k_radius / math.sqrt(2), self.b_radius / math.sqrt(2)  # inscribed square
        low, high = ceil_to(math.exp(-k)), floor_to(math.exp(k))
        k_axis, b_axis = floor_to(self.k_radius, 4), floor_to(self.b_radius, 4)
        return (f"contrast e^k and brightness b with (k/{k_axis:g})² + (b/{b_axis:g})² < 1, "
                f"e.g. contrast in ({low:g}, {high:g}) with brightness ±{floor_to(b):g}")

    def to_record(self) -> dict:
        return {"transform": self.transform, "k_radius": self.k_radius,
                "b_radius": self.b_radius, "kl_budget": self.budget, "text": self.describe()}


def certified_region(
    sigma_k: float, sigma_b: float, p_a_lower: float
) -> BrightnessContrastRegion:
    """Attacks under which the smoothed prediction keeps class c_A when
    P(f(e^k x + b) = c_A) ≥ ``p_a_lower``: KL < kl(1/2 ‖ p̲A). Holds with the confidence
    of the bound p̲A; an empty region when p̲A ≤ 1/2."""
    p = float(check_probability(p_a_lower, "p_a_lower"))
    budget = -0.5 * math.log(4 * p * (1 - p)) if 0.5 < p < 1 else (math.inf if p == 1 else 0.0)
    return BrightnessContrastRegion(check_sigma(sigma_k, "sigma_k"),
                                    check_sigma(sigma_b, "sigma_b"), budget)


def attack_region(eps: float, sigma_k: float, sigma_b: float) -> BrightnessContrastRegion:
    """The region whose KL budget covers every attack with |k| ≤ ε and |b| ≤ ε (the
    divergence grows in |k| and |b|, so the corner (ε, ε) bounds it)."""
    eps = check_sigma(eps, "eps")
    budget = attack_divergence(eps, eps, sigma_k, sigma_b)
    return BrightnessContrastRegion(sigma_k, sigma_b, budget, eps)
