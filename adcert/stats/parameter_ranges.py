"""Certified ranges of a camera-effect parameter (docs/certificates.md §5).

Smoothing over a transform parameter θ instead of pixel noise certifies a *range of
parameters*: the smoothed prediction at φ(x, θ') equals the one at x for every θ' in the
range. Three single-parameter families, each resolvable without clipping on the
model-input scale (RGB in [0, 1]):

- ``brightness``: x ↦ x + b, smoothing b ~ N(0, σ²); additive in b.
- ``contrast``: x ↦ e^k·x, smoothing k ~ N(0, σ²); additive in k.
- ``gamma``: x ↦ x^γ, smoothing γ ~ Rayleigh(σ); multiplicative in γ.

``gaussian`` (x ↦ x + δ, δ ~ N(0, σ²I)) is the ℓ2 case, where the "range" is the ball
‖δ‖₂ < R. ``brightness_contrast`` (x ↦ e^k·x + b, k and b ~ N(0, σ²)) is not additive;
its region comes from :mod:`adcert.stats.brightness_contrast`.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.special import ndtri

from adcert.stats import brightness_contrast
from adcert.stats._checks import check_probability, check_sigma
from adcert.stats._rounding import MP, ceil_text, float_down, float_up, floor_text
from adcert.stats.radii import cohen_radius, gamma_interval

TRANSFORMS = ("gaussian", "brightness", "contrast", "gamma", "brightness_contrast")
_ADDITIVE = ("gaussian", "brightness", "contrast")


def check_transform(transform: str) -> str:
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {list(TRANSFORMS)}, got {transform!r}")
    return transform


@dataclass(frozen=True)
class ParameterRange:
    """An open range of a transform's parameter, in the terms a user applies it with.

    ``gaussian``: ℓ2 norms in [0, high); ``brightness``: offsets b in (low, high);
    ``contrast``: factors e^k in (low, high); ``gamma``: exponents in (low, high).
    An empty range (low == high == the identity) certifies nothing.
    """

    transform: str
    low: float
    high: float

    @property
    def empty(self) -> bool:
        return not self.low < self.high

    def contains(self, value: float) -> bool:
        return self.low < value < self.high if not self.empty else False

    def describe(self) -> str:
        """The range in words, rounded inwards to 3 decimals so the text never claims more
        than was certified (exactly: docs/certificates.md §5)."""
        if self.empty:
            return f"{self.transform}: nothing certified"
        low, high = ceil_text(self.low), floor_text(self.high)
        if self.transform == "gaussian":
            return f"any l2 pixel perturbation of norm < {high} on the [0,1] scale"
        if self.transform == "brightness":
            return f"brightness ±{high} on the [0,1] scale"
        return f"{self.transform} in ({low}, {high})"

    def to_record(self) -> dict:
        return {"transform": self.transform, "low": self.low, "high": self.high,
                "text": self.describe()}


def _from_radius(transform: str, radius: float) -> ParameterRange:
    """The range |θ'| < radius of an additive parameter, in user terms; contrast factors
    e^{±radius} rounded inwards."""
    radius = max(float(radius), 0.0)
    if transform == "gaussian":
        return ParameterRange(transform, 0.0, radius)
    if transform == "brightness":
        return ParameterRange(transform, -radius, radius)
    return ParameterRange(transform, *_exp_range(radius))


def _exp_range(radius: float) -> tuple[float, float]:
    """(e^{−radius}, e^{radius}) rounded inwards: the first up, the second down."""
    return float_up(MP.exp(-MP.mpf(radius))), float_down(MP.exp(radius))


# What a certificate covers: a 1-D range, or the (k, b) ellipse of brightness∘contrast.
Region = ParameterRange | brightness_contrast.BrightnessContrastRegion


def certified_range(
    transform: str, sigma: float, p_a_lower: float, p_b_upper: float | None = None
) -> Region:
    """Parameter range over which the smoothed prediction keeps class c_A.

    With p_a_lower ≤ P(f(φ(x, θ)) = c_A) and p_b_upper ≥ every other class's probability
    (default 1 − p_a_lower), the smoothed classifier's output at φ(x, θ') equals c_A for
    every θ' in the returned range: for the additive families, |θ'| < σ/2 (Φ⁻¹(p̲A) −
    Φ⁻¹(p̄B)) (Cohen's radius in parameter space); for gamma, (γ1, γ2) of
    :func:`gamma_interval`. It holds with the confidence of the two bounds. No bound
    above 1/2 gives an empty range. Rounded inwards: the returned range lies inside the
    exact one (docs/certificates.md §5).
    """
    check_transform(transform)
    check_sigma(sigma)
    if transform == "brightness_contrast":  # a region in (k, b), from p̲A alone
        return brightness_contrast.certified_region(sigma, sigma, p_a_lower)
    p_a = float(check_probability(p_a_lower, "p_a_lower"))
    p_b = 1.0 - p_a if p_b_upper is None else float(check_probability(p_b_upper, "p_b_upper"))
    if p_a <= p_b:
        identity = {"gaussian": 0.0, "brightness": 0.0}.get(transform, 1.0)
        return ParameterRange(transform, identity, identity)
    if transform in _ADDITIVE:
        return _from_radius(transform, float(cohen_radius(p_a, sigma, p_b)))
    return ParameterRange(transform, *gamma_interval(p_a, p_b))


def attack_range(transform: str, eps: float, sigma: float | None = None) -> Region:
    """The parameters an attack of size ``eps`` may use: ‖δ‖₂ ≤ ε (gaussian), |b'| ≤ ε
    (brightness), contrast factors and gamma exponents in [e^{−ε}, e^{ε}], both of the
    latter two for brightness_contrast (whose region object also needs σ). Rounded
    inwards, like every range that is reported as certified."""
    check_transform(transform)
    eps = check_sigma(eps, "eps")
    if transform == "brightness_contrast":
        if sigma is None:
            raise ValueError("brightness_contrast attack sets need the smoothing sigma")
        return brightness_contrast.attack_region(eps, sigma, sigma)
    if transform == "gamma":
        return ParameterRange(transform, *_exp_range(eps))
    return _from_radius(transform, eps)


def percentile_levels(
    transform: str, sigma: float, eps: float, p: float = 0.5
) -> tuple[float, float]:
    """Levels (p_l, p_u) with h_{p_l}(x) ≤ h_p(φ(x, θ')) ≤ h_{p_u}(x) for every θ' in
    ``attack_range(transform, eps)`` — percentile smoothing (§2) over the parameter.

    The levels are the worst cases of how far an attack can move the probability q of
    any event: additive Gaussian families Φ(Φ⁻¹(q) ± ε/σ) (Neyman–Pearson, as in
    Chiang et al.); gamma, where an attack β turns Rayleigh(σ) into Rayleigh(βσ) and the
    likelihood ratio is monotone, q ↦ q^{1/β²} (upper tail) and 1 − (1 − q)^{1/β²}
    (lower tail) over β ∈ [e^{−ε}, e^{ε}]. Exact for every base model; no sampling.

    Rounded outwards — p_l down, p_u up — the safe side: a lower level only lowers the
    percentile h_{p_l} that bounds the attacked one from below, and likewise for p_u
    (docs/certificates.md §2, §5).
    """
    check_transform(transform)
    sigma = check_sigma(sigma)
    eps = check_sigma(eps, "eps")
    p = float(check_probability(p, "p"))
    if transform == "brightness_contrast":
        return brightness_contrast.divergence_levels(
            p, brightness_contrast.attack_divergence(eps, eps, sigma, sigma))
    if p in (0.0, 1.0):
        return p, p
    exact = MP.mpf(p)
    if transform in _ADDITIVE:
        z, shift = _ndtri_exact(p), MP.mpf(eps) / sigma
        return float_down(MP.ncdf(z - shift)), float_up(MP.ncdf(z + shift))
    low, high = MP.exp(-2 * MP.mpf(eps)), MP.exp(2 * MP.mpf(eps))  # β² at the range's ends
    log_p, log_rest = MP.log(exact), MP.log1p(-exact)  # log p and log(1 − p)
    # Smallest q an attack can lift to p, and largest it can push down to p.
    p_l = min(MP.exp(high * log_p), -MP.expm1(low * log_rest))
    p_u = max(-MP.expm1(high * log_rest), MP.exp(low * log_p))
    return float_down(p_l), float_up(p_u)


def _ndtri_exact(p: float):
    """Φ⁻¹(p) at 50 digits for 0 < p < 1: Newton's method from scipy's value (quadratic,
    so four steps take its 16 digits past 50), on the smaller tail for accuracy."""
    if p == 0.5:
        return MP.mpf(0)
    tail = MP.mpf(p) if p < 0.5 else 1 - MP.mpf(p)  # 1 − p is exact for p > 1/2
    z = MP.mpf(float(ndtri(float(tail))))
    for _ in range(4):
        z -= (MP.ncdf(z) - tail) / MP.npdf(z)
    return z if p < 0.5 else -z
