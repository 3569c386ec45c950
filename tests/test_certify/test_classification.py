import numpy as np
import pytest
import torch
from scipy.stats import binom, norm

from adcert import ABSTAIN
from adcert.certify.classification import certify, predict
from adcert.noise import image_generator


class LinearClassifier:
    """f(x) = [w·x + b > 0]: under N(0, σ²I) noise, P(f = f(x)) = Φ(|w·x+b| / (σ‖w‖)),
    so the smoothed classifier's exact ℓ2 radius is |w·x+b| / ‖w‖ (the distance to the
    decision hyperplane)."""

    def __init__(self, w: torch.Tensor, b: float):
        self.w, self.b = w, b

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return (batch.flatten(1) @ self.w + self.b > 0).long()

    def exact_radius(self, x: torch.Tensor) -> float:
        return float(abs(x.flatten() @ self.w + self.b) / self.w.norm())


def make_problem(margin: float, dim: int = 12, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(dim, generator=g, dtype=torch.float64)
    x = torch.randn(dim, generator=g, dtype=torch.float64)
    b = float(margin * w.norm() - x @ w)  # puts x at distance `margin` on the positive side
    return LinearClassifier(w, b), x


def test_certified_radius_is_below_and_close_to_exact():
    model, x = make_problem(margin=0.3)
    sigma = 0.25
    cert = certify(model, x, sigma, n0=100, n=10_000, alpha=0.001, batch_size=1000,
                   generator=image_generator(0, "linear"))
    exact = model.exact_radius(x)
    assert exact == pytest.approx(0.3)
    assert cert.label == 1
    assert cert.radius <= exact
    assert cert.radius >= 0.95 * exact


def test_wrong_radius_rate_stays_below_alpha():
    # Each trial certifies once; a radius above the exact one is a wrong certificate.
    model, x = make_problem(margin=0.2, dim=4)
    sigma, alpha, trials = 0.5, 0.1, 300
    wrong = 0
    for trial in range(trials):
        cert = certify(model, x, sigma, n0=20, n=200, alpha=alpha, batch_size=200,
                       generator=image_generator(1, trial))
        wrong += cert.label == 1 and cert.radius > model.exact_radius(x)
    # Fails only if the rate is clearly above alpha (binomial 99.9% quantile).
    assert wrong <= binom.ppf(0.999, trials, alpha)


def test_point_estimate_would_be_unsound():
    # The same check has power: the plug-in radius σΦ⁻¹(k/n) overshoots about half the time.
    model, x = make_problem(margin=0.2, dim=4)
    sigma, n, trials = 0.5, 200, 300
    p = norm.cdf(model.exact_radius(x) / sigma)
    k = np.random.default_rng(0).binomial(n, p, trials)
    assert np.sum(sigma * norm.ppf(k / n) > model.exact_radius(x)) > binom.ppf(0.999, trials, 0.1)


def test_abstains_on_the_decision_boundary():
    model, x = make_problem(margin=0.0)
    cert = certify(model, x, 0.25, n0=50, n=500, alpha=0.001, batch_size=128,
                   generator=image_generator(0, 0))
    assert cert.label == ABSTAIN and cert.radius == 0.0 and cert.abstained


def test_predict_matches_the_smoothed_class_or_abstains():
    model, x = make_problem(margin=0.5)
    assert predict(model, x, 0.25, n=500, alpha=0.001, batch_size=100,
                   generator=image_generator(0, 1)) == 1
    model, x = make_problem(margin=0.0)
    assert predict(model, x, 0.25, n=200, alpha=1e-6, batch_size=100,
                   generator=image_generator(0, 2)) == ABSTAIN


def test_results_do_not_depend_on_batch_size():
    model, x = make_problem(margin=0.05)
    a = certify(model, x, 0.25, 50, 999, 0.01, batch_size=7, generator=image_generator(3, 4))
    b = certify(model, x, 0.25, 50, 999, 0.01, batch_size=500, generator=image_generator(3, 4))
    assert a == b


def test_record_holds_the_settings():
    model, x = make_problem(margin=0.3)
    record = certify(model, x, 0.25, 10, 100, 0.01, 50, image_generator(0, 0)).to_record()
    assert record["method"] == "cohen_l2"
    assert {"sigma", "n0", "n", "alpha", "radius", "label"} <= record.keys()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=1.2), "alpha"),
        (dict(n0=200, n=100), "n0"),
        (dict(sigma=0.0), "sigma"),
        (dict(sigma=-1.0), "sigma"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    model, x = make_problem(margin=0.3)
    args = dict(sigma=0.25, n0=10, n=100, alpha=0.01, batch_size=10) | kwargs
    with pytest.raises(ValueError, match=name):
        certify(model, x, generator=image_generator(0, 0), **args)
