"""Cohen's CERTIFY and PREDICT over counts (the sampling half is tests/test_pipeline)."""

import numpy as np
import pytest
from scipy.stats import beta, binom, binomtest, norm

from adcert import ABSTAIN
from adcert.certify.classification import ClassCertificate, certify, predict


def test_certificate_is_the_clopper_pearson_bound_and_cohen_radius():
    cert = certify([3, 17], [120, 880], sigma=0.25, alpha=0.001)
    p_lower = beta.ppf(0.001, 880, 1000 - 880 + 1)
    assert cert == ClassCertificate(label=1, radius=pytest.approx(0.25 * norm.ppf(p_lower)),
                                    p_a_lower=pytest.approx(p_lower), count=880, n0=20,
                                    n=1000, sigma=0.25, alpha=0.001)
    assert not cert.abstained and cert.certified_range.high == pytest.approx(cert.radius)


def test_selection_picks_the_class_and_estimation_counts_it():
    # Selection says class 2; the estimation counts of class 2, not their argmax, decide.
    cert = certify([1, 0, 9], [900, 0, 100], sigma=0.5, alpha=0.01)
    assert cert.label == ABSTAIN and cert.count == 100 and cert.radius == 0.0
    cert = certify([1, 0, 9], [40, 10, 950], sigma=0.5, alpha=0.01)
    assert cert.label == 2 and cert.count == 950 and cert.radius > 0


def test_a_class_missing_from_the_estimation_counts_has_count_zero():
    cert = certify([0, 0, 5], [10, 10], sigma=0.25, alpha=0.01)
    assert cert.count == 0 and cert.p_a_lower == 0.0 and cert.abstained


def test_ties_in_selection_go_to_the_lowest_class():
    assert certify([5, 5], [1000, 0], 0.25, 0.01).label == 0


def test_abstains_when_the_bound_is_not_above_one_half():
    # k/n = 0.55 but the 99 % lower bound of 55/100 is below 1/2.
    cert = certify([0, 10], [45, 55], sigma=0.25, alpha=0.01)
    assert cert.label == ABSTAIN and cert.radius == 0.0 and cert.abstained
    assert cert.p_a_lower < 0.5


@pytest.mark.parametrize("transform", ["brightness", "contrast", "gamma",
                                       "brightness_contrast"])
def test_camera_effect_certificates_carry_their_range(transform):
    cert = certify([0, 20], [30, 970], sigma=0.3, alpha=0.001, transform=transform)
    assert cert.label == 1 and cert.transform == transform
    assert (cert.radius is None) == (transform in ("gamma", "brightness_contrast"))
    assert not cert.certified_range.empty
    assert cert.to_record()["method"] == "parameter_smoothing"


def test_record_holds_the_settings():
    record = certify([2, 8], [10, 90], 0.25, 0.01).to_record()
    assert record["method"] == "cohen_l2"
    assert {"sigma", "n0", "n", "alpha", "radius", "label", "certified_range"} <= record.keys()
    assert record["n0"] == 10 and record["n"] == 100


def test_wrong_radius_rate_is_at_most_alpha_exactly():
    # Every count k the certifier can see, weighted by its exact binomial probability:
    # P(p̲A > pA) ≤ α, i.e. the radius exceeds the exact σΦ⁻¹(pA) at most that often.
    n, alpha, sigma = 200, 0.1, 0.5
    for p in (0.55, 0.7, 0.9, 0.99):
        k = np.arange(n + 1)
        too_large = [certify([0, 1], [n - j, j], sigma, alpha).p_a_lower > p for j in k]
        assert binom.pmf(k, n, p)[too_large].sum() <= alpha


def test_predict_is_the_two_sided_binomial_test():
    assert predict([30, 70], 0.001) == 1
    assert predict([45, 55], 0.05) == ABSTAIN
    assert predict([3, 500, 480], 0.05) == ABSTAIN  # 500 vs 480: too close
    assert predict([3, 600, 380], 0.05) == 1
    assert binomtest(600, 980, 0.5).pvalue <= 0.05
    assert predict([7], 0.05) == 0  # one class only: nB = 0
    assert predict([50, 50], 0.5) == ABSTAIN


@pytest.mark.parametrize(
    "args, name",
    [
        (([1, 2], [3, 4], 0.25, 0.0), "alpha"),
        (([1, 2], [3, 4], 0.25, 1.0), "alpha"),
        (([1, 2], [3, 4], 0.0, 0.1), "sigma"),
        (([1, 2], [3, 4], -1.0, 0.1), "sigma"),
        (([0, 0], [3, 4], 0.25, 0.1), "selection_counts"),
        (([1, 2], [], 0.25, 0.1), "estimation_counts"),
        (([1, -2], [3, 4], 0.25, 0.1), "selection_counts"),
        (([1, 2], [[3, 4]], 0.25, 0.1), "estimation_counts"),
        (([1.5, 2], [3, 4], 0.25, 0.1), "selection_counts"),
        (([1, 2], [3, 4], 0.25, 0.1, "blur"), "transform"),
    ],
)
def test_bad_arguments_are_named(args, name):
    with pytest.raises(ValueError, match=name):
        certify(*args)


@pytest.mark.parametrize("args, name", [(([], 0.1), "counts"), (([1, 2], 0.0), "alpha"),
                                        (([0, 0], 0.1), "counts")])
def test_predict_bad_arguments_are_named(args, name):
    with pytest.raises(ValueError, match=name):
        predict(*args)
