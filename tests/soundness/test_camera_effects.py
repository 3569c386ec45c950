"""Soundness of parameter smoothing over camera effects (docs/certificates.md §5).

Classification: the base model thresholds the frame's mean after the effect, so its
decision is a threshold on the effect's parameter and every probability and certified
range is known exactly (m: the frame's mean, or its constant value for gamma):

- brightness x + b, b ~ N(0, σ²): class [m + b > t], P(1) = Φ((m − t)/σ); the smoothed
  class holds for offsets b' with m + b' on the same side of t: |b'| < |m − t|;
- contrast e^k·x, k ~ N(0, σ²): class [e^k·m > t], P(1) = Φ(ln(m/t)/σ); factors e^{k'}
  with |k'| < |ln(m/t)|;
- gamma x^γ, γ ~ Rayleigh(σ), on a constant frame v: class [v^γ > t] = [γ < r],
  r = ln t / ln v, P(1) = F(r); an exponent β (x^β, then smoothing) turns it into
  F(r/β), so class 1 holds for β < r/median and class 0 for β > r/median;
- brightness∘contrast e^k·x + b: P(1) = E_k Φ((e^k·m − t)/σ) (Gauss–Hermite), and an
  attack (k', b') moves m to m' = e^{k'}·m + b', so the class holds while m' stays on the
  side of m*, the mean where P(1) = 1/2; the certified ellipse must not reach m*.

Per trial a fresh frame puts P(1) uniformly in Φ(−1)…Φ(1) around the decision boundary;
votes are drawn from their exact binomial laws. Wrong: a class other than the smoothed
one, or a certified range reaching a parameter where the smoothed class changes.

Detection: box coordinates linear in the parameter θ, y_j = c_j + s_j·g(θ) with slopes of
both signs; an attack moves θ's law, and the certificate must contain the exact attacked
median of every coordinate for every parameter of the attack set.
"""

import math
from functools import cache

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm, rayleigh

from adcert import ABSTAIN
from adcert.certify.classification import certify
from adcert.certify.detection import certify_boxes
from tests.soundness.harness import assert_sound, per_distinct

ALPHA = 0.1
THRESHOLD = 0.4
SIGMAS = {"brightness": 0.2, "contrast": 0.2, "gamma": 0.849, "brightness_contrast": 0.15}
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(80)  # ∫ f(z) φ(z) dz ≈ Σ w f(z) / √2π


def bc_p_one(mean, sigma: float) -> np.ndarray:
    """P(e^k·m + b > t) with k, b ~ N(0, σ²), vectorised over m."""
    mean = np.asarray(mean, dtype=np.float64)[..., None]
    values = norm.cdf((np.exp(sigma * NODES) * mean - THRESHOLD) / sigma)
    return values @ WEIGHTS / math.sqrt(2 * math.pi)


def bc_median_mean(sigma: float) -> float:
    """m* with P(1) = 1/2 under brightness∘contrast smoothing."""
    return brentq(lambda m: bc_p_one(m, sigma) - 0.5, 1e-6, 10.0, xtol=1e-14)


def ellipse_reaches(mean: np.ndarray, k_radius: np.ndarray, b_radius: np.ndarray,
                    level: float, below: np.ndarray) -> np.ndarray:
    """Whether e^{k'}·m + b' reaches ``level`` (from above where ``below``, else from
    below) somewhere on the ellipse (k'/K)² + (b'/B)² ≤ 1, per trial. A grid of 2048
    angles, in chunks; its error (< 1e-6) is counted as reaching."""
    angle = np.linspace(0.0, 2 * np.pi, 2048, endpoint=False)
    out = np.zeros(len(mean), dtype=bool)
    for start in range(0, len(mean), 2048):
        part = slice(start, start + 2048)
        values = (np.exp(k_radius[part, None] * np.cos(angle)) * mean[part, None]
                  + b_radius[part, None] * np.sin(angle))
        out[part] = np.where(below[part], values.min(axis=1) <= level + 1e-6,
                             values.max(axis=1) >= level - 1e-6)
    return out


@cache
def classification_wrong(transform: str, trials: int, n0: int, n: int, seed: int) -> int:
    sigma = SIGMAS[transform]
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1.0, 1.0, trials)
    if transform == "brightness":
        mean = THRESHOLD + sigma * u
        p_one = norm.cdf((mean - THRESHOLD) / sigma)
    elif transform == "contrast":
        mean = THRESHOLD * np.exp(sigma * u)
        p_one = norm.cdf(np.log(mean / THRESHOLD) / sigma)
    elif transform == "gamma":
        p_one = norm.cdf(u)
        r = rayleigh.ppf(p_one, scale=sigma)  # constant frame v = t^{1/r}
        flip = r / rayleigh.median(scale=sigma)  # β where the smoothed class changes
    else:
        m_star = bc_median_mean(sigma)
        low = brentq(lambda m: bc_p_one(m, sigma) - norm.cdf(-1), 1e-6, m_star)
        high = brentq(lambda m: bc_p_one(m, sigma) - norm.cdf(1), m_star, 10.0)
        mean = rng.uniform(low, high, trials)
        p_one = bc_p_one(mean, sigma)
    selection, estimation = rng.binomial(n0, p_one), rng.binomial(n, p_one)
    certs = per_distinct(
        lambda s, e: certify([n0 - s, s], [n - e, e], sigma, ALPHA, transform=transform),
        selection, estimation)
    label = np.array([c.label for c in certs])
    truth = (p_one > 0.5).astype(int)
    wrong = (label != ABSTAIN) & (label != truth)
    ok = np.flatnonzero((label != ABSTAIN) & ~wrong)  # the range claims left to check
    # The range depends on p̲A alone: compute it once per distinct bound.
    regions = {}
    for i in ok:
        if certs[i].p_a_lower not in regions:
            regions[certs[i].p_a_lower] = certs[i].certified_range
    region = [regions[certs[i].p_a_lower] for i in ok]
    if transform in ("brightness", "contrast"):
        exact = (np.abs(mean - THRESHOLD) if transform == "brightness"
                 else np.exp(np.abs(np.log(mean / THRESHOLD))))
        wrong[ok] = np.array([r.high for r in region]) > exact[ok]
    elif transform == "gamma":
        low, high = (np.array([getattr(r, end) for r in region]) for end in ("low", "high"))
        wrong[ok] = np.where(truth[ok] == 1, high > flip[ok], low < flip[ok])
    elif ok.size:
        k_radius = np.array([r.k_radius for r in region])
        b_radius = np.array([r.b_radius for r in region])
        wrong[ok] = ellipse_reaches(mean[ok], k_radius, b_radius, m_star, truth[ok] == 1)
    return int(np.count_nonzero(wrong))


TRANSFORMS = ["brightness", "contrast", "gamma", "brightness_contrast"]


def seed(transform: str, *settings: int) -> int:
    """A distinct random stream per check, so no two rows of the table share trials."""
    return hash((TRANSFORMS.index(transform), *settings)) % 2**32


def title(transform: str) -> str:
    return transform.replace("_", "∘")


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_camera_effect_classification(transform):
    trials = 10_000
    assert_sound(f"{title(transform)}: threshold classifier (n0=10, n=50)",
                 classification_wrong(transform, trials, 10, 50, seed(transform, 50)),
                 trials, ALPHA)


@pytest.mark.soundness
@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("n0, n", [(10, 100), (32, 500)])
def test_camera_effect_classification_full(transform, n0, n):
    trials = 50_000
    assert_sound(f"{title(transform)}: threshold classifier (n0={n0}, n={n})",
                 classification_wrong(transform, trials, n0, n, seed(transform, n0, n)),
                 trials, ALPHA)


# Detection: coordinates c + s·g(θ), slopes of both signs (both sides of every bound).
OFFSETS = np.array([100.0, 80.0, 180.0, 150.0])
SLOPES = np.array([30.0, -20.0, 25.0, -40.0])
EPS = {"brightness": 0.1, "gamma": 0.15, "brightness_contrast": 0.05}
FRAME_MEAN = 0.5  # brightness∘contrast: g(θ) = e^k·m + b


def bc_median(mean: float, sigma: float) -> float:
    """Median of e^k·m + b, k, b ~ N(0, σ²)."""
    def below(v: float) -> float:
        z = (v - np.exp(sigma * NODES) * mean) / sigma
        return float(norm.cdf(z) @ WEIGHTS / math.sqrt(2 * math.pi)) - 0.5

    return brentq(below, mean * math.exp(-6 * sigma) - 6 * sigma,
                  mean * math.exp(6 * sigma) + 6 * sigma, xtol=1e-14)


def attacked_medians(transform: str, sigma: float, eps: float) -> tuple[float, float]:
    """Smallest and largest median of g(θ) over the attack set (g increasing in the
    attack's parameter, so the ends of the set give them)."""
    if transform == "brightness":  # θ + b'
        return -eps, eps
    if transform == "gamma":  # β·γ
        median = rayleigh.median(scale=sigma)
        return median * math.exp(-eps), median * math.exp(eps)
    # e^k (e^{k'} m + b') + b: the median grows with m' = e^{k'} m + b'.
    return (bc_median(FRAME_MEAN * math.exp(-eps) - eps, sigma),
            bc_median(FRAME_MEAN * math.exp(eps) + eps, sigma))


def draw_g(transform: str, rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    if transform == "brightness":
        return sigma * rng.standard_normal(shape)
    if transform == "gamma":
        return rayleigh.rvs(scale=sigma, size=shape, random_state=rng)
    k, b = sigma * rng.standard_normal((2, *shape))
    return np.exp(k) * FRAME_MEAN + b


@cache
def detection_wrong(transform: str, trials: int, n: int, correction: str, seed: int) -> int:
    """Frames with a wrong certificate ("box": any bound of the box; "none", each bound its
    own claim at α: the count of the worst of the 8 bounds)."""
    sigma, eps = SIGMAS[transform], EPS[transform]
    rng = np.random.default_rng(seed)
    g = draw_g(transform, rng, (trials, n), sigma)
    coords = OFFSETS + SLOPES * g[..., None]
    samples = np.concatenate([coords, np.full((trials, n, 1), 0.9),
                              np.zeros((trials, n, 1))], axis=2)[:, :, None, :]
    low, high = attacked_medians(transform, sigma, eps)
    ends = np.stack([OFFSETS + SLOPES * low, OFFSETS + SLOPES * high])
    exact_low, exact_high = ends.min(axis=0), ends.max(axis=0)
    wrong = np.zeros((trials, 9), dtype=bool)
    for t in range(trials):
        cert = certify_boxes({(None, 0): samples[t]}, n, eps, sigma, ALPHA, correction,
                             transform=transform)
        (box,) = cert.boxes
        wrong[t] = np.r_[np.asarray(box.lower) > exact_low, np.asarray(box.upper) < exact_high,
                         box.label_certified and box.label != 0]
    if correction == "none":
        return int(wrong.sum(axis=0).max())
    return int(np.count_nonzero(wrong.any(axis=1)))


@pytest.mark.soundness
@pytest.mark.parametrize("transform", ["brightness", "gamma", "brightness_contrast"])
@pytest.mark.parametrize("correction, guarantee", [("box", "per box"),
                                                   ("none", "per bound (worst of 8)")])
def test_camera_effect_detection(transform, correction, guarantee):
    # brightness∘contrast levels take a root search per certificate (~10 ms): fewer trials.
    trials = 2000 if transform == "brightness_contrast" else 10_000
    assert_sound(f"{title(transform)}: linear box regressor, {guarantee} (n=50)",
                 detection_wrong(transform, trials, 50, correction, seed(transform, 50, 1)),
                 trials, ALPHA)
