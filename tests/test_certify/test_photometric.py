"""Camera-effect certificates against models whose exact answer is known (§5).

- A classifier thresholding the frame's mean intensity, f(x) = [mean(x) > t]: under
  brightness b the smoothed probability is Φ((m − t)/σ), so the exact brightness range is
  |b'| < m − t; under contrast e^k it is |k'| < ln(m/t); on a constant frame v under gamma
  γ ~ Rayleigh(σ), f = [γ < r] with r = ln t / ln v, and the class holds for β < r/median.
- A segmenter thresholding each pixel's intensity after gamma.
- A "detector" whose box coordinates are linear in the effect's parameter.
"""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm, rayleigh

from adcert import ABSTAIN
from adcert.certify.detection import certify_boxes
from adcert.certify.segmentation import (
    ABSTAIN_PIXEL,
    ClassCounter,
    HitCounter,
    certify_segmentation,
)
from adcert.noise import image_generator, make_perturbation
from adcert.noise.gaussian import perturbed_batches
from adcert.pipeline.classification import certify_classifier as certify
from adcert.stats import attack_range, percentile_levels

RAYLEIGH_MEDIAN = math.sqrt(2 * math.log(2))  # of Rayleigh(1)


def _generator(seed):
    return image_generator(seed, "frame", torch.device("cpu"))


def mean_threshold(t):
    def model(batch):
        return (batch.flatten(1).mean(1) > t).long()

    return model


def exact_range_end(transform, m, t, sigma):
    """Where the smoothed mean-threshold classifier flips, in the effect's own terms."""
    if transform == "brightness":
        return m - t
    if transform == "contrast":
        return math.exp(math.log(m / t))  # contrast factor
    return (math.log(t) / math.log(m)) / (sigma * RAYLEIGH_MEDIAN)  # largest gamma


@pytest.mark.parametrize("transform, sigma", [("brightness", 0.2), ("contrast", 0.2),
                                              ("gamma", 0.849)])
def test_mean_threshold_classifier_gets_nearly_its_exact_range(transform, sigma):
    m, t = 0.5, 0.4
    x = torch.full((3, 4, 4), m)
    cert = certify(mean_threshold(t), x, sigma, n0=64, n=4000, alpha=1e-3, batch_size=1000,
                   generator=_generator(1), transform=transform)
    assert cert.label == 1
    exact = exact_range_end(transform, m, t, sigma)
    high = cert.certified_range.high
    assert high <= exact  # sound (fails with probability ≤ α)
    assert high >= exact - 0.2 * (exact - (1.0 if transform != "brightness" else 0.0))


@pytest.mark.parametrize("transform, sigma", [("brightness", 0.3), ("contrast", 0.3),
                                              ("gamma", 0.849)])
def test_wrong_ranges_occur_at_rate_at_most_alpha(transform, sigma):
    """Over 200 runs at α = 0.1, ranges wider than the exact one stay within the binomial
    99.9 % quantile of Bin(200, 0.1) — about 33."""
    m, t, alpha, trials = 0.5, 0.45, 0.1, 200
    exact = exact_range_end(transform, m, t, sigma)
    x = torch.full((1, 2, 2), m)
    wrong = 0
    for seed in range(trials):
        cert = certify(mean_threshold(t), x, sigma, n0=16, n=200, alpha=alpha,
                       batch_size=200, generator=_generator(seed), transform=transform)
        wrong += cert.label == 1 and cert.certified_range.high > exact
        wrong += cert.label == 0  # the smoothed class is 1: any certified 0 is wrong
    assert wrong <= 33


def test_parameters_inside_the_range_never_change_a_certified_class():
    """Apply effects inside the certified range the way a user would (adcert's own
    ``apply``, no clipping) and recompute the smoothed class exactly."""
    t, sigma = 0.4, 0.2
    for m in np.linspace(0.45, 0.8, 8):
        x = torch.full((3, 2, 2), float(m))
        cert = certify(mean_threshold(t), x, sigma, 32, 2000, 1e-3, 2000, _generator(7),
                       transform="brightness")
        if cert.label == ABSTAIN:
            continue
        brightness = make_perturbation("brightness", sigma)
        for b in np.linspace(cert.certified_range.low, cert.certified_range.high, 11)[1:-1]:
            attacked = brightness.apply(x, float(b))
            smoothed_p1 = norm.cdf((attacked.mean().item() - t) / sigma)
            assert int(smoothed_p1 > 0.5) == cert.label


def gamma_label_maps(values, t, num, sigma, generator, batch_size=100):
    """Label maps of [x^γ > t] over copies of the frame ``values`` with γ ~ Rayleigh(σ)."""
    x = torch.as_tensor(values, dtype=torch.float64)
    for batch in perturbed_batches(x, num, batch_size, make_perturbation("gamma", sigma),
                                   generator):
        yield (batch > t).long().numpy()


def gamma_segcertify(values, t, sigma, tau, alpha, generator, n0=20, n=500):
    selection = ClassCounter(2, values.shape)
    for maps in gamma_label_maps(values, t, n0, sigma, generator):
        selection.update(maps)
    hits = HitCounter(selection.top_class())
    for maps in gamma_label_maps(values, t, n, sigma, generator):
        hits.update(maps)
    return certify_segmentation(hits.target, hits.hits, n, sigma, tau, alpha, "holm", n0=n0,
                                transform="gamma")


def test_gamma_segmenter_keeps_certified_pixels_over_the_whole_range():
    t, sigma, tau = 0.3, 0.849, 0.75
    values = np.linspace(0.02, 0.98, 48).reshape(4, 12)
    cert = gamma_segcertify(values, t, sigma, tau, 1e-3, _generator(3))
    gamma_low, gamma_high = cert.certified_range.low, cert.certified_range.high
    assert cert.radius is None and gamma_low < 1 < gamma_high
    # P(f_i = 1) = P(γ < r_i) = F(r_i), exactly; clear pixels are certified.
    r = np.log(t) / np.log(values)
    p_one = rayleigh.cdf(r, scale=sigma)
    clear = (p_one > 0.95) | (p_one < 0.05)
    assert np.all(cert.labels[clear] != ABSTAIN_PIXEL)
    certified = cert.labels != ABSTAIN_PIXEL
    for beta in np.linspace(gamma_low, gamma_high, 9)[1:-1]:
        smoothed = (rayleigh.cdf(r / beta, scale=sigma) > 0.5).astype(np.uint8)
        assert np.array_equal(cert.labels[certified], smoothed[certified])
    record = cert.to_record()
    assert record["transform"] == "gamma" and record["certified_range"]["text"].startswith(
        "gamma in (")


def test_gamma_segmenter_wrong_certificates_at_rate_at_most_alpha():
    """Pixels at P(ĉ) = τ exactly must not be certified; over 100 runs at α = 0.2 the
    runs certifying one stay within Bin(100, 0.2)'s 99.9 % quantile (33)."""
    t, sigma, tau, alpha = 0.3, 0.849, 0.75, 0.2
    r_at_tau = rayleigh.ppf(tau, scale=sigma)
    values = np.full((2, 8), t ** (1 / r_at_tau))  # every pixel has P(f = 1) = τ exactly
    runs_wrong = sum(
        bool(np.any(gamma_segcertify(values, t, sigma, tau, alpha, _generator(s), n=200)
                    .labels != ABSTAIN_PIXEL))
        for s in range(100)
    )
    assert runs_wrong <= 33


def linear_box_samples(parameters, slope, offset=100.0):
    """One box per sample whose four coordinates are offset + slope·θ (+ fixed sizes)."""
    c = offset + slope * np.asarray(parameters)
    boxes = np.stack([c, c, c + 50, c + 40, np.full_like(c, 0.9), np.zeros_like(c)], axis=1)
    return {(None, 0): boxes[:, None, :]}


@pytest.mark.parametrize("transform, sigma, eps", [("brightness", 0.2, 0.1),
                                                   ("gamma", 0.849, 0.15)])
def test_linear_regressor_bounds_contain_every_attacked_median(transform, sigma, eps):
    """Coordinates linear in the parameter: h_p is offset + slope·(parameter's p-quantile),
    and an attack moves the parameter's law (shift for brightness, scale for gamma)."""
    n, alpha, slope = 4000, 1e-3, 30.0
    generator = _generator(11)
    family = make_perturbation(transform, sigma)
    thetas = [family.draw(generator) for _ in range(n)]
    cert = certify_boxes(linear_box_samples(thetas, slope), n, eps, sigma, alpha,
                         transform=transform)
    (box,) = cert.boxes
    law = norm(scale=sigma) if transform == "brightness" else rayleigh(scale=sigma)
    p_l, p_u = percentile_levels(transform, sigma, eps)
    exact_low, exact_up = 100 + slope * law.ppf(p_l), 100 + slope * law.ppf(p_u)
    assert box.lower[0] <= exact_low and box.upper[0] >= exact_up  # hold at level α
    spread = slope * law.std() / math.sqrt(n)
    assert exact_low - box.lower[0] < 12 * spread and box.upper[0] - exact_up < 12 * spread
    attacks = attack_range(transform, eps)
    for a in np.linspace(attacks.low, attacks.high, 9):
        # Attacked median: brightness shifts θ by a, gamma scales it by a.
        median = law.median() + a if transform == "brightness" else law.median() * a
        assert box.lower[0] <= 100 + slope * median <= box.upper[0]
    assert cert.to_record()["certified_range"]["transform"] == transform


def test_brightness_contrast_region_from_samples_keeps_the_class():
    """Sampled certificate for the mean-threshold classifier under e^k x + b: every attack
    inside the certified ellipse keeps the exactly computed smoothed class."""
    m, t, sigma = 0.5, 0.4, 0.15
    x = torch.full((3, 2, 2), m)
    cert = certify(mean_threshold(t), x, sigma, 32, 4000, 1e-3, 4000, _generator(5),
                   transform="brightness_contrast")
    region = cert.certified_range
    assert cert.label == 1 and cert.radius is None and not region.empty
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    family = make_perturbation("brightness_contrast", sigma)
    for angle in np.linspace(0, 2 * np.pi, 37):
        k = 0.99 * region.k_radius * math.cos(angle)
        b = 0.99 * region.b_radius * math.sin(angle)
        attacked = family.apply(x, (k, b)).mean().item()
        p_one = np.sum(weights * norm.cdf((np.exp(sigma * nodes) * attacked - t) / sigma))
        assert p_one / math.sqrt(2 * math.pi) > 0.5
