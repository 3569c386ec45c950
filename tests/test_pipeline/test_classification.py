"""Sampling half of Cohen's CERTIFY / PREDICT: a torch classifier under adcert's noise."""

import numpy as np
import pytest
import torch

from adcert import ABSTAIN
from adcert.certify.classification import certify, predict
from adcert.noise import image_generator
from adcert.pipeline.classification import certify_classifier, predict_classifier, sample_counts


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
    cert = certify_classifier(model, x, 0.25, n0=100, n=10_000, alpha=0.001,
                              batch_size=1000, generator=image_generator(0, "linear"))
    exact = model.exact_radius(x)
    assert exact == pytest.approx(0.3)
    assert cert.label == 1 and cert.n0 == 100 and cert.n == 10_000
    # Expected ≈ 0.2875 (p̲A ≈ 0.875 at n = 10⁴); 0.9·exact leaves ≈ 4 standard deviations.
    assert 0.9 * exact <= cert.radius <= exact


def test_certify_classifier_is_certify_of_the_two_sample_counts():
    model, x = make_problem(margin=0.1)
    cert = certify_classifier(model, x, 0.25, 30, 300, 0.01, 64, image_generator(5, 6))
    generator = image_generator(5, 6)
    selection = sample_counts(model, x, 0.25, 30, 64, generator)
    estimation = sample_counts(model, x, 0.25, 300, 64, generator)  # fresh copies
    assert selection.sum() == 30 and estimation.sum() == 300
    assert cert == certify(selection, estimation, 0.25, 0.01)


def test_abstains_on_the_decision_boundary():
    model, x = make_problem(margin=0.0)
    cert = certify_classifier(model, x, 0.25, n0=50, n=500, alpha=0.001, batch_size=128,
                              generator=image_generator(0, 0))
    assert cert.label == ABSTAIN and cert.radius == 0.0 and cert.abstained


def test_predict_matches_the_smoothed_class_or_abstains():
    model, x = make_problem(margin=0.5)
    assert predict_classifier(model, x, 0.25, n=500, alpha=0.001, batch_size=100,
                              generator=image_generator(0, 1)) == 1
    model, x = make_problem(margin=0.0)
    assert predict_classifier(model, x, 0.25, n=200, alpha=1e-6, batch_size=100,
                              generator=image_generator(0, 2)) == ABSTAIN
    counts = sample_counts(model, x, 0.25, 200, 100, image_generator(0, 2))
    assert predict(counts, 1e-6) == ABSTAIN


def test_results_do_not_depend_on_batch_size():
    model, x = make_problem(margin=0.05)
    a = certify_classifier(model, x, 0.25, 50, 999, 0.01, batch_size=7,
                           generator=image_generator(3, 4))
    b = certify_classifier(model, x, 0.25, 50, 999, 0.01, batch_size=500,
                           generator=image_generator(3, 4))
    assert a == b


def test_camera_effect_counts_come_from_one_parameter_per_copy():
    # [mean(x) + b > t] with b ~ N(0, σ²): P(class 1) = Φ((m − t)/σ) = Φ(1) ≈ 0.84.
    x = torch.full((3, 2, 2), 0.5)
    counts = sample_counts(lambda batch: (batch.flatten(1).mean(1) > 0.3).long(), x, 0.2,
                           4000, 1000, image_generator(0, "b"), transform="brightness")
    assert counts.sum() == 4000 and abs(counts[1] / 4000 - 0.8413) < 0.03


def test_sample_counts_rejects_negative_classes_and_wrong_lengths():
    x = torch.zeros(4)
    with pytest.raises(ValueError, match="negative"):
        sample_counts(lambda b: -torch.ones(len(b), dtype=torch.long), x, 0.1, 4, 4,
                      image_generator(0, 0))
    with pytest.raises(ValueError, match="labels"):
        sample_counts(lambda b: torch.zeros(1, dtype=torch.long), x, 0.1, 4, 4,
                      image_generator(0, 0))
    assert np.array_equal(sample_counts(lambda b: torch.full((len(b),), 2), x, 0.1, 5, 2,
                                        image_generator(0, 0)), [0, 0, 5])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=1.2), "alpha"),
        (dict(n0=200, n=100), "n0"),
        (dict(n0=0), "n0"),
        (dict(sigma=0.0), "sigma"),
        (dict(sigma=-1.0), "sigma"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    model, x = make_problem(margin=0.3)
    args = dict(sigma=0.25, n0=10, n=100, alpha=0.01, batch_size=10) | kwargs
    with pytest.raises(ValueError, match=name):
        certify_classifier(model, x, generator=image_generator(0, 0), **args)


def test_predict_classifier_bad_arguments_are_named():
    model, x = make_problem(margin=0.3)
    with pytest.raises(ValueError, match="n must"):
        predict_classifier(model, x, 0.25, 0, 0.01, 10, image_generator(0, 0))
    with pytest.raises(ValueError, match="alpha"):
        predict_classifier(model, x, 0.25, 10, 0.0, 10, image_generator(0, 0))
